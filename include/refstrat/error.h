/* refstrat/error.h: the one list of error codes the C core returns.
 *
 * Every entry point that can fail returns one of these (0 is success) and writes a message into
 * its caller's buffer or into rs_run.errmsg. The Cython driver maps each code to one Python
 * exception class (refstrat/_core.pyx, _raise), so a code says what kind of failure it is:
 *
 *   RS_ERR_CONFIG   the caller's configuration is invalid (a field out of range, a malformed
 *                   trace, a name clash when loading a plugin): nothing ran      -> ValueError
 *   RS_ERR_NOMEM    memory or a thread could not be had                         -> MemoryError
 *   RS_ERR_ARENA    a worker's pool stayed empty for RS_WAIT_LIMIT seconds      -> ArenaExhaustedError
 *   RS_ERR_STALLED  a worker waited RS_WAIT_LIMIT seconds for another one      -> StalledError
 *   RS_ERR_HANDLE   a stepping call named a slot past the arena, or a handle that was never
 *                   issued                                                      -> IndexError
 *   RS_ERR_PLUGIN   a plugin could not be loaded (dlopen, missing symbol, ABI)  -> OSError
 *   RS_ERR_INTERRUPTED  rs_run_interrupt() stopped the run (Ctrl-C)              -> KeyboardInterrupt
 */
#ifndef REFSTRAT_ERROR_H
#define REFSTRAT_ERROR_H

enum rs_err {
    RS_OK = 0,
    RS_ERR_CONFIG = 1,
    RS_ERR_NOMEM = 2,
    RS_ERR_ARENA = 3,
    RS_ERR_STALLED = 4,
    RS_ERR_HANDLE = 5,
    RS_ERR_PLUGIN = 6,
    RS_ERR_INTERRUPTED = 7,
};

#endif

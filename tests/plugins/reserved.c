/* A test plugin (tests/test_defence_round2.py) whose one strategy, a correct atomic count, takes
 * the name RS_RESERVED_NAME: compiled once per reserved row (speed_of_light, limit,
 * limit+atomic), whose names are no identifiers, so the table is renamed at load. The loader must
 * refuse each: a plugin row that a reserved row shadows would be reported on the other's kernel. */
#include "refstrat/plugin.h"

#define RS_RESERVED_LIST(RS_X) RS_X(atomic, 1, 0, "TEST: a plugin named like a reserved row", "tests")

RS_DEFINE_STRATEGY_TABLE(RS_RESERVED_LIST, rs_reserved_base_)

static rs_strategy rs_reserved_table_[1];

__attribute__((constructor)) static void rs_reserved_rename(void)
{
    rs_reserved_table_[0] = rs_reserved_base_[0];
    rs_reserved_table_[0].name = RS_RESERVED_NAME;
}

__attribute__((visibility("default"))) const rs_plugin rs_plugin_entry =
    RS_PLUGIN_HEADER_(rs_reserved_table_);

/* The plugin registry and loader: rs_plugin_load() dlopens a plugin, checks its ABI, and registers
 * its strategies (and their check-build flavours, handing the plugin the scheduler's primitives);
 * rs_find_strategy() and rs_find_check_strategy() look a name up among the built-ins and the
 * registered plugins. Called by the binding (refstrat/_core.pyx, through refstrat/core.h). Calls
 * src/registry.c (built-ins, reserved names), src/check_table.c (the check flavour's built-ins)
 * and src/check.c (rs_check_api); none of them calls back. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "refstrat/core.h"
#include "refstrat/plugin.h"
#include "refstrat/pr.h"
#include "internal.h"

#define RS_MAX_PLUGIN_STRATEGIES 256
static const rs_strategy *rs_plugins[RS_MAX_PLUGIN_STRATEGIES];
static const rs_strategy *rs_plugin_checks[RS_MAX_PLUGIN_STRATEGIES]; /* [i]: rs_plugins[i]'s check
                                                                          flavour, or NULL */
static int rs_nplugins;
static pthread_mutex_t rs_plugin_lock = PTHREAD_MUTEX_INITIALIZER;

/* Under rs_plugin_lock: the index of the registered plugin strategy called name, or -1. */
static int rs_plugin_index(const char *name)
{
    for (int i = 0; i < rs_nplugins; i++)
        if (!strcmp(rs_plugins[i]->name, name))
            return i;
    return -1;
}

const rs_strategy *rs_find_strategy(const char *name)
{
    for (int i = 0; i < rs_builtin_count(); i++)
        if (!strcmp(rs_builtin(i)->name, name))
            return rs_builtin(i);
    rs_pr_mutex_lock(&rs_plugin_lock);
    int i = rs_plugin_index(name);
    const rs_strategy *found = i >= 0 ? rs_plugins[i] : NULL;
    rs_pr_mutex_unlock(&rs_plugin_lock);
    return found;
}

/* Whether name is taken by a built-in, a reserved row or a registered plugin strategy. Caller
 * holds rs_plugin_lock. */
static int rs_name_taken(const char *name)
{
    if (rs_reserved_row(name))
        return 1;
    for (int i = 0; i < rs_builtin_count(); i++)
        if (!strcmp(rs_builtin(i)->name, name))
            return 1;
    return rs_plugin_index(name) >= 0;
}

/* Under rs_plugin_lock: register p's strategies (with chk, their check-build flavours, or NULL),
 * or none of them (returns an rs_err). A table
 * registered already (dlopen hands back the same library for the same file) is not added again
 * and *again is set. */
static int rs_plugin_register(const rs_plugin *p, const rs_plugin *chk, const char *path, int *again,
                              char *err, size_t errlen)
{
    *again = 0;
    for (int i = 0; i < rs_nplugins; i++)
        if (rs_plugins[i] == &p->strategies[0]) {
            *again = 1;
            return RS_OK;
        }
    if (p->count > (uint32_t)(RS_MAX_PLUGIN_STRATEGIES - rs_nplugins)) {
        snprintf(err, errlen, "too many plugin strategies (at most %d)", RS_MAX_PLUGIN_STRATEGIES);
        return RS_ERR_CONFIG;
    }
    for (uint32_t i = 0; i < p->count; i++) {
        const char *name = p->strategies[i].name;
        int clash = !name || !name[0] || rs_name_taken(name);
        for (uint32_t j = 0; j < i && !clash; j++)
            clash = !strcmp(p->strategies[j].name, name);
        if (clash) {
            snprintf(err, errlen, "plugin %s: strategy name %s%s%s is empty or already taken (built-in, "
                     "speed_of_light, limit, limit+atomic or another plugin)", path, name ? "'" : "", name ? name : "NULL",
                     name ? "'" : "");
            return RS_ERR_CONFIG;
        }
    }
    for (uint32_t i = 0; i < p->count; i++) {
        rs_plugin_checks[rs_nplugins] = chk ? &chk->strategies[i] : NULL;
        rs_plugins[rs_nplugins++] = &p->strategies[i];
    }
    return RS_OK;
}

const rs_strategy *rs_find_check_strategy(const char *name)
{
    const rs_strategy *found = rs_check_builtin(name);
    if (found)
        return found;
    rs_pr_mutex_lock(&rs_plugin_lock);
    int i = rs_plugin_index(name);
    found = i >= 0 ? rs_plugin_checks[i] : NULL;
    rs_pr_mutex_unlock(&rs_plugin_lock);
    return found;
}

/* A plugin's check table, after the same ABI checks as its normal one; NULL when it has none. */
static const rs_plugin *rs_plugin_check_table(void *h, const rs_plugin *p)
{
    const rs_plugin_check *c = (const rs_plugin_check *)dlsym(h, RS_PLUGIN_CHECK_SYMBOL);
    if (!c || c->plugin.abi != p->abi || c->plugin.count != p->count ||
        c->plugin.sizeof_run != p->sizeof_run || c->api_version != RS_CHK_API_VERSION)
        return NULL;
    *c->api = rs_check_api();
    return &c->plugin;
}

int rs_plugin_load(const char *path, const rs_strategy **first, char *err, size_t errlen)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(err, errlen, "cannot load plugin %s: %s", path, dlerror());
        return -RS_ERR_PLUGIN;
    }
    const rs_plugin *p = (const rs_plugin *)dlsym(h, RS_PLUGIN_SYMBOL);
    if (!p) {
        snprintf(err, errlen, "%s defines no %s (build it with RS_DEFINE_PLUGIN)", path, RS_PLUGIN_SYMBOL);
        dlclose(h);
        return -RS_ERR_PLUGIN;
    }
    if (p->abi != RS_ABI_VERSION || p->sizeof_obj != sizeof(rs_obj) ||
        p->sizeof_thread != sizeof(rs_thread) || p->sizeof_run != sizeof(rs_run) ||
        p->sizeof_strategy != sizeof(rs_strategy) || p->sizeof_params != sizeof(rs_params)) {
        snprintf(err, errlen, "plugin %s was built against other refstrat headers (ABI %u, core %u)",
                 path, p->abi, RS_ABI_VERSION);
        dlclose(h);
        return -RS_ERR_PLUGIN;
    }
    if (p->count == 0 || !p->strategies) {
        snprintf(err, errlen, "plugin %s defines no strategy", path);
        dlclose(h);
        return -RS_ERR_PLUGIN;
    }
    int again;
    rs_pr_mutex_lock(&rs_plugin_lock);
    int rc = rs_plugin_register(p, rs_plugin_check_table(h, p), path, &again, err, errlen);
    rs_pr_mutex_unlock(&rs_plugin_lock);
    if (rc != RS_OK || again)
        dlclose(h); /* a reload drops the reference this dlopen took; the first one keeps it loaded */
    if (rc != RS_OK)
        return -rc;
    /* Never closed once registered: the entries point into the library. */
    *first = p->strategies;
    return (int)p->count;
}

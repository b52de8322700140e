/* SPDX-License-Identifier: MIT */
/* The process's exit statuses, one list for every command. systemd
 * restarts the service after SHIM_EXIT_FAIL (Restart=on-failure) but not
 * after SHIM_EXIT_USAGE (RestartPreventExitStatus=2): a configuration
 * mistake does not heal by itself. */
#ifndef SHIM_EXIT_H
#define SHIM_EXIT_H

enum shim_exit {
        SHIM_EXIT_OK = 0,       /* done, or stopped cleanly */
        SHIM_EXIT_FAIL = 1,     /* a runtime failure: out of memory, an output
                                 * failed for good, a file could not be read */
        SHIM_EXIT_USAGE = 2,    /* bad command line, configuration or mappings */
};

#endif

/* SPDX-License-Identifier: MIT */
/* The process exit status, one list for every command (parse, search,
 * report, fields, check-config, run). Only main() and the commands' _main
 * functions return these; everything below them returns 0 or a negative
 * errno. The values are part of the interface: scripts and the systemd unit
 * (RestartPreventExitStatus=2) rely on them. */
#ifndef SHIM_EXIT_H
#define SHIM_EXIT_H

enum shim_exit {
        /* Done. For run: a clean stop on SIGTERM; systemd does not restart. */
        SHIM_EXIT_OK = 0,
        /* An input or output failed, or memory or descriptors ran out: a
         * restart may cure it, so systemd restarts run after a 1. */
        SHIM_EXIT_FAIL = 1,
        /* Usage or configuration error (bad option, config line, zone or
         * mapping): starting again cannot help, so systemd does not
         * restart after a 2. */
        SHIM_EXIT_USAGE = 2,
};

#endif

/* SPDX-License-Identifier: MIT */
/* RELP for the syslog output (librelp): the engine, the session, sending
 * and the close that collects the last acknowledgements. What counts as
 * delivered is explained in sink_syslog.c. The only file of the syslog
 * output that includes librelp.h. */
#include "outputs/syslog_int.h"

#include <errno.h>
#include <stddef.h>             /* librelp.h needs size_t first */
#include <librelp.h>

#include "base/dlib.h"
#include "base/clock.h"

/* librelp, loaded when a relp:// target is first checked or opened
 * (dlib.h): it maps GnuTLS and its dependencies, most of what the binary
 * would otherwise have resident at start. Every function called, each
 * named once here. */
#define RELP_FUNCS(X) X(CltConnect) X(CltReconnect) X(CltSendSyslog) X(CltSetConnTimeout) \
        X(CltSetTimeout) X(CltSetUsrPtr) X(CltSetWindowSize) X(EngineCltConstruct) \
        X(EngineCltDestruct) X(EngineConstruct) X(EngineDestruct) X(EngineSetDbgprint) \
        X(EngineSetEnableCmd) X(EngineSetOnErr) X(EngineSetOnGenericErr)

#define RELP_MEMBER(f) __typeof__(relp##f) *f;
static struct {
        RELP_FUNCS(RELP_MEMBER)
} rl;

int syslog_relp_load(struct diag *err)
{
#define RELP_SYM(f) { "relp" #f, (void **)&rl.f },
        static void *handle;
        const struct dlib_sym syms[] = { RELP_FUNCS(RELP_SYM) };

        return dlib_load(&handle, RELP_SONAME, syms, sizeof(syms) / sizeof(syms[0]), err);
}

/* usr is the sink (relpCltSetUsrPtr), NULL for engine-wide errors. */
static void relp_err(void *usr, char *obj, char *msg, relpRetVal code)
{
        struct syslog_sink *y = usr;

        if (y)
                y->relp_failed = 1;
        log_msg(LOG_LVL_DEBUG, "syslog: relp: %s: %s (%d)", obj ? obj : "", msg ? msg : "", (int)code);
}

/* librelp calls its debug printer unconditionally while constructing a
 * client: without one it dereferences NULL. */
static void relp_dbg(char *fmt, ...)
{
        (void)fmt;
}

static void relp_generic_err(char *obj, char *msg, relpRetVal code)
{
        relp_err(NULL, obj, msg, code);
}

int syslog_relp_open(struct syslog_sink *y, struct diag *err)
{
        int r;

        /* librelp ignores a window below 2 (and keeps 128) */
        y->relp_window = y->cfg->relp_window < 2 ? 2 : (unsigned)y->cfg->relp_window;
        if ((r = syslog_relp_load(err)) < 0)
                return r;
        if (rl.EngineConstruct(&y->relp_eng) != RELP_RET_OK)
                return -ENOMEM;
        rl.EngineSetDbgprint(y->relp_eng, relp_dbg);
        rl.EngineSetOnErr(y->relp_eng, relp_err);
        rl.EngineSetOnGenericErr(y->relp_eng, relp_generic_err);
        rl.EngineSetEnableCmd(y->relp_eng, (unsigned char *)"syslog", eRelpCmdState_Required);
        return 0;
}

int syslog_relp_connect(struct syslog_sink *y, int timeout_ms)
{
        int secs = timeout_ms / 1000 ? timeout_ms / 1000 : 1;

        if (!y->relp) {
                if (rl.EngineCltConstruct(y->relp_eng, &y->relp) != RELP_RET_OK)
                        return -ENOMEM;
                rl.CltSetUsrPtr(y->relp, y);
                rl.CltSetTimeout(y->relp, (unsigned)secs);
                rl.CltSetConnTimeout(y->relp, secs);
                rl.CltSetWindowSize(y->relp, (int)y->relp_window);
                if (rl.CltConnect(y->relp, 0, (unsigned char *)y->port,
                                  (unsigned char *)y->host) != RELP_RET_OK) {
                        rl.EngineCltDestruct(y->relp_eng, &y->relp);
                        y->relp = NULL;
                        syslog_connection_failed(y, "RELP connect to", ECONNREFUSED);
                        return -EAGAIN;
                }
        } else if (rl.CltReconnect(y->relp) != RELP_RET_OK) {
                syslog_connection_failed(y, "RELP reconnect to", ECONNREFUSED);
                return -EAGAIN;
        }
        y->relp_failed = 0;
        return 0;
}

/* Send the queued messages this session has not had yet; reconnect a
 * broken session even when there are none (librelp then resends what it
 * holds unacknowledged). */
int syslog_relp_push(struct sink *s)
{
        struct syslog_sink *y = s->priv;

        if (!y->qlen || (y->connected && y->sent_idx == y->qlen))
                return 0;
        if (syslog_connect_with(y, syslog_relp_connect) < 0)
                return -EAGAIN;
        while (y->sent_idx < y->qlen) {
                struct pend_msg *m = syslog_qat(y, y->sent_idx);

                if (rl.CltSendSyslog(y->relp, (unsigned char *)y->pend.p + m->start,
                                      m->len) != RELP_RET_OK) {
                        syslog_connection_failed(y, "RELP send to", ECONNRESET);
                        return -EAGAIN;
                }
                y->sent_idx++;
                y->last_send_ms = clock_now_ms();
                /* librelp blocks at window-many unacknowledged messages:
                 * everything sent on this session that many before this one
                 * is acknowledged */
                while (y->sent_idx > y->relp_window)
                        syslog_pop_delivered(s);
        }
        return 0;
}

/* Close the session: librelp waits for the acknowledgement of everything
 * it holds. It returns OK even when the session was broken or the close
 * timed out, and then drops what it held: only a close that reported no
 * error acknowledged it; otherwise a new session gets it from the queue. */
int syslog_relp_close(struct sink *s)
{
        struct syslog_sink *y = s->priv;

        rl.EngineCltDestruct(y->relp_eng, &y->relp);
        y->relp = NULL;
        if (y->relp_failed) {
                y->sent_idx = 0;
                syslog_connection_failed(y, "RELP close of the session with", ETIMEDOUT);
                return -EAGAIN;
        }
        while (y->sent_idx)
                syslog_pop_delivered(s);
        y->connected = 0;
        return 0;
}

void syslog_relp_free(struct syslog_sink *y)
{
        if (y->relp)
                rl.EngineCltDestruct(y->relp_eng, &y->relp);
        if (y->relp_eng)
                rl.EngineDestruct(&y->relp_eng);
}

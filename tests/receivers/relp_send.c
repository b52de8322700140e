/* relp_send: send syslog frames to a RELP listener with librelp's client API,
 * the library smartermail-shim links. A test tool, built at test time:
 *
 *   cc -o relp_send relp_send.c $(pkg-config --cflags --libs relp)
 *   relp_send [-t CA CERT KEY [PEER]] HOST PORT MSG [MSG...]
 *
 * -t enables TLS; with PEER the server certificate's name must match PEER
 * (authMode "name"), without it any certificate signed by CA is accepted
 * (authMode "certvalid"). Exit status 0 only when every message was sent and
 * the session closed cleanly (librelp waits for outstanding "rsp" on close).
 */
/* librelp.h uses size_t without including <stddef.h> (librelp 1.11) */
#include <stddef.h>
#include <librelp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static void on_err(void *usr, char *object, char *msg, relpRetVal err)
{
	(void)usr;
	fprintf(stderr, "relp_send: librelp error %d (%s): %s\n", (int)err, object ? object : "-", msg);
}

static void on_generic_err(char *object, char *msg, relpRetVal err)
{
	on_err(NULL, object, msg, err);
}

/* librelp 1.11 calls the debug printer unconditionally and has no default:
 * without relpEngineSetDbgprint() the first relpEngineCltConstruct() jumps
 * through a NULL pointer. */
static void dbg_quiet(char *fmt, ...) { (void)fmt; }

static int check(relpRetVal r, const char *what)
{
	if (r != RELP_RET_OK) {
		fprintf(stderr, "relp_send: %s failed: %d\n", what, (int)r);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char *ca = NULL, *cert = NULL, *key = NULL, *peer = NULL;
	int i = 1;
	if (argc > 1 && strcmp(argv[1], "-t") == 0) {
		if (argc < 5) goto usage;
		ca = argv[2]; cert = argv[3]; key = argv[4];
		i = 5;
		/* optional PEER: present when more than HOST PORT MSG follow and it is not a port */
		if (argc - i >= 4 && strspn(argv[i + 2], "0123456789") == strlen(argv[i + 2])) {
			peer = argv[i++];
		}
	}
	if (argc - i < 3) goto usage;
	char *host = argv[i], *port = argv[i + 1];

	relpEngine_t *eng = NULL;
	relpClt_t *clt = NULL;
	int bad = 0;
	if (check(relpEngineConstruct(&eng), "relpEngineConstruct")) return 2;
	relpEngineSetDbgprint(eng, dbg_quiet);
	relpEngineSetOnErr(eng, on_err);
	relpEngineSetOnGenericErr(eng, on_generic_err);
	relpEngineSetEnableCmd(eng, (unsigned char *)"syslog", eRelpCmdState_Required);
	if (check(relpEngineCltConstruct(eng, &clt), "relpEngineCltConstruct")) return 2;
	relpCltSetTimeout(clt, 10);
	if (ca) {
		bad |= check(relpCltEnableTLS(clt), "relpCltEnableTLS");
		bad |= check(relpCltSetCACert(clt, ca), "relpCltSetCACert");
		bad |= check(relpCltSetOwnCert(clt, cert), "relpCltSetOwnCert");
		bad |= check(relpCltSetPrivKey(clt, key), "relpCltSetPrivKey");
		if (peer) {
			bad |= check(relpCltSetAuthMode(clt, (char *)"name"), "relpCltSetAuthMode");
			bad |= check(relpCltAddPermittedPeer(clt, peer), "relpCltAddPermittedPeer");
		} else {
			bad |= check(relpCltSetAuthMode(clt, (char *)"certvalid"), "relpCltSetAuthMode");
		}
		if (bad) return 2;
	}
	if (check(relpCltConnect(clt, AF_INET, (unsigned char *)port, (unsigned char *)host), "relpCltConnect"))
		return 3;
	for (int m = i + 2; m < argc; m++)
		bad |= check(relpCltSendSyslog(clt, (unsigned char *)argv[m], strlen(argv[m])), "relpCltSendSyslog");
	bad |= check(relpEngineCltDestruct(eng, &clt), "relpEngineCltDestruct");
	relpEngineDestruct(&eng);
	return bad ? 4 : 0;

usage:
	fprintf(stderr, "usage: relp_send [-t CA CERT KEY [PEER]] HOST PORT MSG [MSG...]\n");
	return 2;
}

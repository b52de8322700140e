/* SPDX-License-Identifier: MIT */
/* TLS for the syslog output (OpenSSL): the context (verification, CA,
 * client certificate), the handshake taken step by step on a non-blocking
 * socket, writes, and the end of a session. The only file of the syslog
 * output that includes OpenSSL's headers. */
#include "outputs/syslog_int.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <sys/epoll.h>

static void log_ssl_errors(const char *what)
{
        unsigned long e;
        char b[256];

        while ((e = ERR_get_error())) {
                ERR_error_string_n(e, b, sizeof(b));
                log_msg(LOG_LVL_WARNING, "syslog: %s: %s", what, b);
        }
}

int syslog_tls_setup(struct syslog_sink *y, const struct syslog_cfg *cfg, struct diag *err)
{
        y->ctx = SSL_CTX_new(TLS_client_method());
        if (!y->ctx)
                return -ENOMEM;
        /* verification first: no context exists, even briefly, without it */
        SSL_CTX_set_verify(y->ctx, cfg->tls_verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
        SSL_CTX_set_min_proto_version(y->ctx, TLS1_2_VERSION);
        if (cfg->tls_ca[0] ? !SSL_CTX_load_verify_locations(y->ctx, cfg->tls_ca, NULL)
                                : !SSL_CTX_set_default_verify_paths(y->ctx)) {
                ERR_clear_error();
                SSL_CTX_free(y->ctx);
                y->ctx = NULL;  /* a failed open leaves nothing to connect with */
                return diag_set(err, EINVAL, cfg->tls_ca, 0, "syslog-tls-ca",
                                "cannot load the CA certificates");
        }
        if (cfg->tls_cert[0] &&
            (!SSL_CTX_use_certificate_chain_file(y->ctx, cfg->tls_cert) ||
             !SSL_CTX_use_PrivateKey_file(y->ctx, cfg->tls_key[0] ? cfg->tls_key
                                                                       : cfg->tls_cert,
                                          SSL_FILETYPE_PEM) ||
             !SSL_CTX_check_private_key(y->ctx))) {
                ERR_clear_error();
                SSL_CTX_free(y->ctx);
                y->ctx = NULL;
                return diag_set(err, EINVAL, cfg->tls_cert, 0, "syslog-tls-cert",
                                "cannot load the client certificate and its key");
        }
        SSL_CTX_set_mode(y->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        return 0;
}

/* One step of the TLS handshake: 0 when done, -EAGAIN while in progress,
 * another negative errno when it failed. */
int syslog_tls_handshake_step(struct syslog_sink *y)
{
        const struct syslog_cfg *cfg = y->cfg;
        const char *name = cfg->tls_server_name[0] ? cfg->tls_server_name : y->host;
        int r, e;

        if (!y->ctx)
                return -EINVAL;         /* its open failed (SIGHUP): said then */
        if (!y->ssl) {
                y->ssl = SSL_new(y->ctx);
                if (!y->ssl)
                        return -ENOMEM;
                SSL_set_fd(y->ssl, y->fd);
                SSL_set_tlsext_host_name(y->ssl, name);
                if (cfg->tls_verify)
                        SSL_set1_host(y->ssl, name);
        }
        r = SSL_connect(y->ssl);
        if (r == 1)
                return 0;
        e = SSL_get_error(y->ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                y->tls_wants = e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT;
                return -EAGAIN;
        }
        {
                long v = SSL_get_verify_result(y->ssl);
                if (v != X509_V_OK)
                        log_msg(LOG_LVL_WARNING, "syslog: tls: certificate of %s: %s",
                                name, X509_verify_cert_error_string(v));
        }
        log_ssl_errors("tls handshake");
        return -ECONNREFUSED;
}

ssize_t syslog_tls_write(struct syslog_sink *y, const char *p, size_t n)
{
        int r = SSL_write(y->ssl, p, (int)n), e;

        if (r > 0) {
                y->tls_wants = 0;
                return r;
        }
        e = SSL_get_error(y->ssl, r);
        y->tls_wants = e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT;
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
                return -EAGAIN;
        log_ssl_errors("write");
        return -EPIPE;
}

uint64_t syslog_tls_written(struct syslog_sink *y)
{
        return (uint64_t)BIO_number_written(SSL_get_wbio(y->ssl));
}

void syslog_tls_end(struct syslog_sink *y, int notify)
{
        if (!y->ssl)
                return;
        /* close_notify: without it the receiver sees a truncated session
         * and logs an error. One try, as the socket is non-blocking; its
         * result changes nothing here. */
        if (notify)
                (void)SSL_shutdown(y->ssl);
        SSL_free(y->ssl);
        y->ssl = NULL;
}

void syslog_tls_free_ctx(struct syslog_sink *y)
{
        if (y->ctx)
                SSL_CTX_free(y->ctx);
        y->ctx = NULL;
}

/* Streams over lwIP TCP pcbs. Every function runs with the stack lock
 * held (the worker holds it while it works; lwIP callbacks have it).
 *
 * Received pbufs wait in rxq until read() copies them out, and only then
 * does tcp_recved() open the window: a slow consumer shrinks the window
 * the client sees, so nothing piles up here. */
#include "stk_stream_lwip.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

struct stk_lwip_stream {
	struct stk_stream s;
	struct stk_lwip *st;
	struct tcp_pcb *pcb;       /* NULL once lwIP freed it or we let go */
	struct pbuf *rxq;
	bool eof;
	bool want_write;
	bool aborted;              /* aborted from inside one of its callbacks */
	bool connecting;           /* an active open not yet established */
	bool readable_queued;      /* on st->readable until the batch ends */
	struct stk_lwip_stream *next_dead;
	struct stk_lwip_stream *next_readable;
};

static struct stk_lwip_stream *stk_ls(struct stk_stream *s)
{
	return (struct stk_lwip_stream *)s;
}

static int stk_lwip_errno(err_t err)
{
	switch (err) {
	case ERR_RST: return ECONNRESET;
	case ERR_ABRT: return ECONNABORTED;
	case ERR_CLSD: return EPIPE;
	case ERR_TIMEOUT: return ETIMEDOUT;
	case ERR_RTE: return EHOSTUNREACH;
	case ERR_MEM: return ENOMEM;
	default: return EIO;
	}
}

static ssize_t stk_ls_read(struct stk_stream *s, void *buf, size_t len)
{
	struct stk_lwip_stream *ls = stk_ls(s);
	const struct stk_lwip_api *api = &ls->st->api;
	uint16_t n;

	if (!ls->rxq) {
		if (ls->eof)
			return 0;
		return ls->s.error ? -ls->s.error : -EAGAIN;
	}
	if (len > 0xffff)
		len = 0xffff;
	n = api->pbuf_copy_partial(ls->rxq, buf, (uint16_t)len, 0);
	ls->rxq = api->pbuf_free_header(ls->rxq, n);
	if (ls->pcb)
		api->tcp_recved(ls->pcb, n);
	return n;
}

static ssize_t stk_ls_write(struct stk_stream *s, const void *buf, size_t len)
{
	struct stk_lwip_stream *ls = stk_ls(s);
	const struct stk_lwip_api *api = &ls->st->api;
	size_t room;

	if (!ls->pcb)
		return -(ls->s.error ? ls->s.error : EPIPE);
	room = tcp_sndbuf(ls->pcb);
	if (tcp_sndqueuelen(ls->pcb) >= TCP_SND_QUEUELEN)
		room = 0;
	if (len > room)
		len = room;
	if (len > 0xffff)
		len = 0xffff;
	if (!len || api->tcp_write(ls->pcb, buf, (uint16_t)len,
				   TCP_WRITE_FLAG_COPY) != ERR_OK) {
		ls->want_write = true;
		return -EAGAIN;
	}
	api->tcp_output(ls->pcb);
	return (ssize_t)len;
}

static int stk_ls_shutdown(struct stk_stream *s)
{
	struct stk_lwip_stream *ls = stk_ls(s);

	if (!ls->pcb)
		return -EPIPE;
	return ls->st->api.tcp_shutdown(ls->pcb, 0, 1) == ERR_OK ? 0 : -EIO;
}

static void stk_ls_detach(struct stk_lwip_stream *ls)
{
	const struct stk_lwip_api *api = &ls->st->api;

	api->tcp_arg(ls->pcb, NULL);
	api->tcp_recv(ls->pcb, NULL);
	api->tcp_sent(ls->pcb, NULL);
	api->tcp_err(ls->pcb, NULL);
}

/* Freed after the current input batch: lwIP may still be inside one of
 * this stream's callbacks. */
static void stk_ls_retire(struct stk_lwip_stream *ls)
{
	struct stk_lwip_stream **dead = (struct stk_lwip_stream **)&ls->st->dead;

	ls->s.cb = NULL;
	if (ls->rxq) {
		ls->st->api.pbuf_free(ls->rxq);
		ls->rxq = NULL;
	}
	ls->next_dead = *dead;
	*dead = ls;
}

static void stk_ls_close(struct stk_stream *s)
{
	struct stk_lwip_stream *ls = stk_ls(s);
	const struct stk_lwip_api *api = &ls->st->api;

	if (ls->pcb) {
		stk_ls_detach(ls);
		if (ls->rxq)
			api->tcp_recved(ls->pcb, ls->rxq->tot_len);
		if (api->tcp_close(ls->pcb) != ERR_OK) {
			api->tcp_abort(ls->pcb);
			ls->aborted = true;
		}
		ls->pcb = NULL;
	}
	stk_ls_retire(ls);
}

static void stk_ls_abort(struct stk_stream *s)
{
	struct stk_lwip_stream *ls = stk_ls(s);

	if (ls->pcb) {
		stk_ls_detach(ls);
		ls->st->api.tcp_abort(ls->pcb);
		ls->aborted = true;
		ls->pcb = NULL;
	}
	stk_ls_retire(ls);
}

static const struct stk_stream_ops stk_ls_ops = {
	.read = stk_ls_read,
	.write = stk_ls_write,
	.shutdown = stk_ls_shutdown,
	.close = stk_ls_close,
	.abort = stk_ls_abort,
};

static err_t stk_ls_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p,
			 err_t err)
{
	struct stk_lwip_stream *ls = arg;

	if (!p) {
		ls->eof = true;
	} else if (ls->rxq) {
		ls->st->api.pbuf_cat(ls->rxq, p);
	} else {
		ls->rxq = p;
	}
	if (p && ls->st->batching) {
		if (!ls->readable_queued) {
			ls->readable_queued = true;
			ls->next_readable = ls->st->readable;
			ls->st->readable = ls;
		}
		return ERR_OK;
	}
	stk_stream_notify(&ls->s, STK_EV_READABLE);
	return ls->aborted ? ERR_ABRT : ERR_OK;
}

static err_t stk_ls_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct stk_lwip_stream *ls = arg;

	if (ls->want_write) {
		ls->want_write = false;
		stk_stream_notify(&ls->s, STK_EV_WRITABLE);
	}
	return ls->aborted ? ERR_ABRT : ERR_OK;
}

/* lwIP has already freed the pcb. */
static void stk_ls_err(void *arg, err_t err)
{
	struct stk_lwip_stream *ls = arg;

	ls->pcb = NULL;
	ls->s.error = stk_lwip_errno(err);
	/* a reset answering our SYN is a refusal */
	if (ls->connecting && err == ERR_RST)
		ls->s.error = ECONNREFUSED;
	stk_stream_notify(&ls->s, STK_EV_ERROR);
}

struct stk_stream *stk_lwip_stream_new(struct stk_lwip *st,
				       struct tcp_pcb *pcb)
{
	struct stk_lwip_stream *ls = calloc(1, sizeof(*ls));

	if (!ls)
		return NULL;
	ls->s.ops = &stk_ls_ops;
	ls->st = st;
	ls->pcb = pcb;
	st->api.tcp_arg(pcb, ls);
	st->api.tcp_recv(pcb, stk_ls_recv);
	st->api.tcp_sent(pcb, stk_ls_sent);
	st->api.tcp_err(pcb, stk_ls_err);
	tcp_nagle_disable(pcb);
	return &ls->s;
}

static err_t stk_ls_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct stk_lwip_stream *ls = arg;

	ls->connecting = false;
	stk_stream_notify(&ls->s, STK_EV_CONNECTED | STK_EV_WRITABLE);
	return ls->aborted ? ERR_ABRT : ERR_OK;
}

struct stk_stream *stk_lwip_stream_connect(struct stk_lwip *st,
					   const ip_addr_t *dst, uint16_t dport,
					   bool (*port_ok)(void *arg,
							   const ip_addr_t *src,
							   uint16_t sport),
					   void *arg, int *err)
{
	const struct stk_lwip_api *api = &st->api;
	struct stk_lwip_stream *ls;
	struct stk_stream *s;
	struct tcp_pcb *pcb;
	ip_addr_t src;
	uint32_t start = (uint32_t)rand();
	unsigned tries;

	if (stk_lwip_source(st, dst, &src) < 0) {
		*err = EADDRNOTAVAIL;
		return NULL;
	}
	pcb = api->tcp_new_ip_type(IP_GET_TYPE(dst));
	if (!pcb) {
		*err = ENOMEM;
		return NULL;
	}
	/* Ephemeral ports whose flow hashes back to us; lwIP refuses the
	 * ones in use. */
	for (tries = 0; tries < 28232; tries++) {
		uint16_t port = (uint16_t)(32768 + (start + tries) % 28232);

		if (port_ok && !port_ok(arg, &src, port))
			continue;
		if (api->tcp_bind(pcb, &src, port) == ERR_OK)
			break;
	}
	if (tries == 28232) {
		api->tcp_abort(pcb);
		*err = EADDRNOTAVAIL;
		return NULL;
	}
	s = stk_lwip_stream_new(st, pcb);
	if (!s) {
		api->tcp_abort(pcb);
		*err = ENOMEM;
		return NULL;
	}
	ls = stk_ls(s);
	ls->connecting = true;
	if (api->tcp_connect(pcb, dst, dport, stk_ls_connected) != ERR_OK) {
		stk_ls_abort(s);
		*err = EHOSTUNREACH;
		return NULL;
	}
	return s;
}

void stk_lwip_stream_batch(struct stk_lwip *st)
{
	st->batching = true;
}

void stk_lwip_stream_flush(struct stk_lwip *st)
{
	st->batching = false;
	while (st->readable) {
		struct stk_lwip_stream *ls = st->readable;

		st->readable = ls->next_readable;
		ls->readable_queued = false;
		/* a stream closed meanwhile has no callback: retired ones
		 * are freed only by stk_lwip_stream_reap, after this */
		stk_stream_notify(&ls->s, STK_EV_READABLE);
	}
}

void stk_lwip_stream_reap(struct stk_lwip *st)
{
	struct stk_lwip_stream *ls = st->dead;

	st->dead = NULL;
	while (ls) {
		struct stk_lwip_stream *next = ls->next_dead;

		free(ls);
		ls = next;
	}
}

/* Copying between two streams. See stk_tunnel.h. */
#include "stk_tunnel.h"

#include <errno.h>
#include <stdlib.h>

#include "stk_buf.h"

static const char *const stk_close_names[STK_CLOSE__COUNT] = {
	[STK_CLOSE_DONE] = "done",
	[STK_CLOSE_CLIENT_RESET] = "client_reset",
	[STK_CLOSE_UPSTREAM_RESET] = "upstream_reset",
	[STK_CLOSE_IDLE] = "idle",
	[STK_CLOSE_NO_MEMORY] = "no_memory",
	[STK_CLOSE_APP] = "app",
	[STK_CLOSE_SHUTDOWN] = "shutdown",
	[STK_CLOSE_HTTP_SERVICE] = "http_service",
};

const char *stk_close_reason_name(enum stk_close_reason r)
{
	return (unsigned)r < STK_CLOSE__COUNT ? stk_close_names[r] : "?";
}

static void stk_tunnel_finish(struct stk_tunnel *t, enum stk_close_reason why)
{
	unsigned i;

	if (t->ended)
		return;
	t->ended = true;
	for (i = 0; i < 2; i++) {
		stk_buf_put(t->pipe[i].buf, t->buf_size);
		t->pipe[i].buf = NULL;
	}
	t->end(t, why, t->arg);
}

void stk_tunnel_abort(struct stk_tunnel *t, enum stk_close_reason why)
{
	unsigned i;

	if (t->ended || t->pending_end)
		return;
	for (i = 0; i < 2; i++) {
		if (t->s[i]) {
			stk_abort(t->s[i]);
			t->s[i] = NULL;
		}
	}
	if (t->busy)
		t->pending_end = (int)why + 1;
	else
		stk_tunnel_finish(t, why);
}

/* Copy one direction until a read or a write would block. Returns false
 * when the tunnel was aborted. */
static bool stk_tunnel_pump(struct stk_tunnel *t, int dir)
{
	struct stk_tunnel_pipe *pp = &t->pipe[dir];
	struct stk_stream *from, *to;
	ssize_t n;

	for (;;) {
		/* an abort from inside a call below clears t->s */
		from = t->s[dir];
		to = t->s[!dir];
		if (!from || !to)
			return false;
		if (!pp->len) {
			if (pp->eof || t->hold[dir])
				break;
			if (!pp->buf && !(pp->buf = stk_buf_get(t->buf_size))) {
				stk_tunnel_abort(t, STK_CLOSE_NO_MEMORY);
				return false;
			}
			n = stk_read(from, pp->buf, t->buf_size);
			if (n == -EAGAIN) {
				/* idle direction: give the buffer back */
				stk_buf_put(pp->buf, t->buf_size);
				pp->buf = NULL;
				break;
			}
			if (n < 0) {
				stk_tunnel_abort(t, dir == STK_DIR_UP ?
						 STK_CLOSE_CLIENT_RESET :
						 STK_CLOSE_UPSTREAM_RESET);
				return false;
			}
			if (n == 0) {
				pp->eof = true;
				stk_buf_put(pp->buf, t->buf_size);
				pp->buf = NULL;
				if (t->data) {
					t->data(t, dir, NULL, 0, t->arg);
					if (t->pending_end || t->ended)
						return false;
				}
				break;
			}
			pp->off = 0;
			pp->len = (size_t)n;
			t->bytes[dir] += (uint64_t)n;
			t->last_active_ns = *t->now_ns;
			if (t->data) {
				t->data(t, dir, pp->buf, pp->len, t->arg);
				if (t->pending_end || t->ended)
					return false;
			}
		}
		n = stk_write(to, pp->buf + pp->off, pp->len);
		if (n == -EAGAIN)
			return true;
		if (n < 0) {
			stk_tunnel_abort(t, dir == STK_DIR_UP ?
					 STK_CLOSE_UPSTREAM_RESET :
					 STK_CLOSE_CLIENT_RESET);
			return false;
		}
		pp->off += (size_t)n;
		pp->len -= (size_t)n;
	}
	to = t->s[!dir];
	if (!to)
		return false;
	if (pp->eof && !pp->len && !pp->shut) {
		pp->shut = true;
		stk_shutdown(to);
	}
	return true;
}

static void stk_tunnel_run(struct stk_tunnel *t)
{
	if (t->ended || t->busy)
		return;
	t->busy = true;
	do {
		t->again = false;
		if (!stk_tunnel_pump(t, STK_DIR_UP) ||
		    !stk_tunnel_pump(t, STK_DIR_DOWN))
			break;
	} while (t->again);
	t->busy = false;
	if (t->pending_end) {
		stk_tunnel_finish(t, (enum stk_close_reason)(t->pending_end - 1));
		return;
	}
	if (t->pipe[0].shut && t->pipe[1].shut) {
		stk_close(t->s[0]);
		stk_close(t->s[1]);
		t->s[0] = t->s[1] = NULL;
		stk_tunnel_finish(t, STK_CLOSE_DONE);
	}
}

void stk_tunnel_event(struct stk_stream *s, unsigned ev, void *arg)
{
	struct stk_tunnel *t = arg;

	if (ev & STK_EV_ERROR) {
		stk_tunnel_abort(t, s == t->s[0] ? STK_CLOSE_CLIENT_RESET :
				 STK_CLOSE_UPSTREAM_RESET);
		return;
	}
	if (t->busy) {
		/* Raised while pumping (the in-memory pair delivers
		 * synchronously): pump once more before returning. */
		t->again = true;
		return;
	}
	stk_tunnel_run(t);
}

void stk_tunnel_start(struct stk_tunnel *t, struct stk_stream *client,
		      struct stk_stream *upstream, size_t buf_size,
		      uint64_t *now_ns, stk_tunnel_end_fn end,
		      stk_tunnel_data_fn data, void *arg, unsigned hold)
{
	*t = (struct stk_tunnel){
		.s = { client, upstream },
		.buf_size = buf_size,
		.now_ns = now_ns,
		.last_active_ns = *now_ns,
		.end = end,
		.data = data,
		.arg = arg,
		.hold = { hold & (1u << STK_DIR_UP), hold & (1u << STK_DIR_DOWN) },
	};
	stk_stream_set_cb(client, stk_tunnel_event, t);
	stk_stream_set_cb(upstream, stk_tunnel_event, t);
	stk_tunnel_run(t);
}

void stk_tunnel_init(struct stk_tunnel *t, struct stk_stream *client,
		     struct stk_stream *upstream, size_t buf_size,
		     uint64_t *now_ns, stk_tunnel_end_fn end, void *arg)
{
	stk_tunnel_start(t, client, upstream, buf_size, now_ns, end, NULL, arg,
			 0);
}

void stk_tunnel_release(struct stk_tunnel *t, int dir)
{
	t->hold[dir] = false;
	if (t->busy)
		t->again = true;
	else
		stk_tunnel_run(t);
}

int stk_tunnel_detach(struct stk_tunnel *t)
{
	if (t->ended || t->busy || t->pending_end)
		return -1;
	for (unsigned i = 0; i < 2; i++) {
		if (t->s[i])
			stk_stream_set_cb(t->s[i], NULL, NULL);
		t->s[i] = NULL;
		stk_buf_put(t->pipe[i].buf, t->buf_size);
		t->pipe[i].buf = NULL;
	}
	t->ended = true;
	return 0;
}

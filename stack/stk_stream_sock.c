/* Streams over non-blocking kernel TCP sockets, driven by a worker's
 * epoll loop (edge-triggered).
 *
 * A proxy of small messages spends its time in system calls, so the
 * stream skips the ones that carry nothing:
 * - small writes are copied into a per-socket buffer and sent together
 *   when the loop's pass ends (stk_loop_flush): a response head and its
 *   body, or the frames of many HTTP/2 streams, leave in one call.
 *   Bigger writes go out at once, behind what was held, in one sendmsg.
 *   What is held is bounded (STK_SOCK_OUT_CAP); past it, and while the
 *   kernel is full, write() says -EAGAIN as before;
 * - a read that returned less than it asked for emptied the socket, so
 *   the next read says -EAGAIN without asking the kernel until epoll
 *   reports input again (edge-triggered: new bytes always raise a new
 *   event). A FIN that came with the bytes was reported as EPOLLRDHUP
 *   already and raises nothing new, so then reads go on to the end.
 * Bytes write() took are never dropped by close(): what the kernel has
 * not taken yet still goes out from the loop, FIN after it, the socket
 * then belonging to the loop (orphaned) and bounded in time by
 * TCP_USER_TIMEOUT should the peer stop reading. */
#include "stk_stream_sock.h"

#include "stk_buf.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define STK_SOCK_OUT_CAP STK_BUF_SIZE    /* held back at most */
#define STK_SOCK_SMALL 4096             /* writes below this are held */
#define STK_SOCK_ORPHAN_TIMEOUT_MS 30000

struct stk_sock {
	struct stk_stream s;
	struct stk_loop_fd lfd;
	struct stk_loop *loop;
	uint8_t *out;               /* STK_SOCK_OUT_CAP bytes, once needed */
	size_t out_off, out_len;
	bool connecting;
	bool drained;               /* the last read emptied the socket */
	bool rdhup;                 /* the peer's FIN is queued: read to it */
	bool blocked;               /* the kernel is full: wait for EPOLLOUT */
	bool shut;                  /* shutdown() was called */
	bool shut_due;              /* ... and waits for out to drain */
	bool orphan;                /* closed, still sending out */
};

static struct stk_sock *stk_sock_of(struct stk_stream *s)
{
	return (struct stk_sock *)s;
}

static struct stk_sock *stk_sock_of_lfd(struct stk_loop_fd *lfd)
{
	return (struct stk_sock *)((uint8_t *)lfd -
				   offsetof(struct stk_sock, lfd));
}

static ssize_t stk_sock_read(struct stk_stream *s, void *buf, size_t len)
{
	struct stk_sock *k = stk_sock_of(s);
	ssize_t n;

	if (k->connecting || k->drained)
		return -EAGAIN;
	do {
		n = read(k->lfd.fd, buf, len);
	} while (n < 0 && errno == EINTR);
	if (n > 0 && (size_t)n < len && !k->rdhup)
		k->drained = true;
	if (n >= 0)
		return n;
	return errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

/* Hold data[0..len) if it fits; false when it does not. */
static bool stk_sock_hold(struct stk_sock *k, const void *data, size_t len)
{
	if (k->out_len + len > STK_SOCK_OUT_CAP)
		return false;
	if (!k->out && !(k->out = stk_buf_get(STK_SOCK_OUT_CAP)))
		return false;
	if (k->out_off + k->out_len + len > STK_SOCK_OUT_CAP) {
		memmove(k->out, k->out + k->out_off, k->out_len);
		k->out_off = 0;
	}
	memcpy(k->out + k->out_off + k->out_len, data, len);
	k->out_len += len;
	return true;
}

/* Send what is held, then data[0..len). Returns how many bytes of data
 * went (0 when only held bytes did), -EAGAIN when the kernel took
 * nothing, or -errno. */
static ssize_t stk_sock_send(struct stk_sock *k, const void *data, size_t len)
{
	struct iovec iov[2];
	struct msghdr mh = { .msg_iov = iov };
	size_t held = k->out_len;
	ssize_t n;

	if (held)
		iov[mh.msg_iovlen++] = (struct iovec){ k->out + k->out_off,
						       held };
	if (len)
		iov[mh.msg_iovlen++] = (struct iovec){ (void *)data, len };
	if (!mh.msg_iovlen)
		return 0;
	do {
		n = sendmsg(k->lfd.fd, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno != EWOULDBLOCK)
			return -errno;
		k->blocked = true;
		return -EAGAIN;
	}
	/* short: the send buffer is full, and the kernel will raise
	 * EPOLLOUT once it has room */
	if ((size_t)n < held + len)
		k->blocked = true;
	if ((size_t)n < held) {
		k->out_off += (size_t)n;
		k->out_len -= (size_t)n;
		return 0;
	}
	k->out_off = k->out_len = 0;
	return n - (ssize_t)held;
}

static ssize_t stk_sock_write(struct stk_stream *s, const void *buf, size_t len)
{
	struct stk_sock *k = stk_sock_of(s);
	size_t room;
	ssize_t n;

	if (k->connecting)
		return -EAGAIN;
	if (k->s.error)
		return -k->s.error;
	if (k->shut)
		return -EPIPE;
	if (!len)
		return 0;
	if (len < STK_SOCK_SMALL && stk_sock_hold(k, buf, len)) {
		if (!k->blocked)
			stk_loop_defer_flush(k->loop, &k->lfd);
		return (ssize_t)len;
	}
	n = k->blocked ? -EAGAIN : stk_sock_send(k, buf, len);
	if (n > 0 || (n < 0 && n != -EAGAIN))
		return n;
	/* the kernel is full: hold what fits, the rest waits for room */
	room = STK_SOCK_OUT_CAP - k->out_len;
	if (!room)
		return -EAGAIN;
	if (len > room)
		len = room;
	if (!stk_sock_hold(k, buf, len))
		return -ENOMEM;
	return (ssize_t)len;
}

/* Send what is held, unless the kernel is full. 0 or -errno. */
static int stk_sock_drain(struct stk_sock *k)
{
	ssize_t n;

	if (!k->out_len || k->blocked || k->connecting)
		return 0;
	n = stk_sock_send(k, NULL, 0);
	if (n < 0 && n != -EAGAIN)
		return (int)n;
	if (!k->out_len) {
		stk_buf_put(k->out, STK_SOCK_OUT_CAP);
		k->out = NULL;
		k->out_off = 0;
	}
	return 0;
}

static int stk_sock_shutdown(struct stk_stream *s)
{
	struct stk_sock *k = stk_sock_of(s);
	int rc;

	if (k->shut)
		return 0;
	k->shut = true;
	rc = stk_sock_drain(k);
	if (rc < 0)
		return rc;
	if (k->out_len) {
		k->shut_due = true; /* after the rest went out */
		return 0;
	}
	return shutdown(k->lfd.fd, SHUT_WR) < 0 ? -errno : 0;
}

static void stk_sock_release(struct stk_loop_fd *lfd)
{
	struct stk_sock *k = stk_sock_of_lfd(lfd);

	stk_buf_put(k->out, STK_SOCK_OUT_CAP);
	free(k);
}

static void stk_sock_retire(struct stk_sock *k)
{
	if (k->orphan) {
		k->orphan = false;
		stk_loop_unorphan(&k->lfd);
	}
	stk_loop_retire(k->loop, &k->lfd);
}

static void stk_sock_close(struct stk_stream *s)
{
	struct stk_sock *k = stk_sock_of(s);
	int ms = STK_SOCK_ORPHAN_TIMEOUT_MS;

	k->s.cb = NULL;
	if (stk_sock_drain(k) < 0 || !k->out_len) {
		stk_sock_retire(k);
		return;
	}
	/* the kernel is full: the loop sends the rest, then closes */
	setsockopt(k->lfd.fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms));
	k->orphan = true;
	stk_loop_orphan(k->loop, &k->lfd);
}

static void stk_sock_abort(struct stk_stream *s)
{
	struct stk_sock *k = stk_sock_of(s);
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	/* Linger 0: close() sends RST instead of FIN. */
	setsockopt(k->lfd.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	k->s.cb = NULL;
	k->out_len = 0;
	stk_sock_retire(k);
}

/* Held bytes out at the end of the loop's pass, or once the kernel has
 * room again. Returns false when k is gone or failed. */
static bool stk_sock_flush_out(struct stk_sock *k, bool notify)
{
	int rc = stk_sock_drain(k);

	if (rc < 0) {
		if (k->orphan) {
			stk_sock_retire(k);
			return false;
		}
		if (!k->s.error) {
			k->s.error = -rc;
			if (notify)
				stk_stream_notify(&k->s, STK_EV_ERROR);
		}
		return false;
	}
	if (k->out_len)
		return true;
	if (k->orphan) {
		stk_sock_retire(k);
		return false;
	}
	if (!k->shut_due)
		return true;
	k->shut_due = false;
	if (shutdown(k->lfd.fd, SHUT_WR) < 0 && !k->s.error) {
		k->s.error = errno;
		if (notify)
			stk_stream_notify(&k->s, STK_EV_ERROR);
		return false;
	}
	return true;
}

static void stk_sock_flush(struct stk_loop_fd *lfd)
{
	stk_sock_flush_out(stk_sock_of_lfd(lfd), true);
}

static const struct stk_stream_ops stk_sock_ops = {
	.read = stk_sock_read,
	.write = stk_sock_write,
	.shutdown = stk_sock_shutdown,
	.close = stk_sock_close,
	.abort = stk_sock_abort,
};

/* An orphan reads and drops what the peer still sends: a peer blocked
 * writing to us might otherwise never read what we owe it. */
static void stk_sock_orphan_event(struct stk_sock *k, uint32_t ev)
{
	uint8_t sink[4096];
	ssize_t n;

	if (ev & (EPOLLERR | EPOLLHUP)) {
		stk_sock_retire(k);
		return;
	}
	if (ev & (EPOLLIN | EPOLLRDHUP)) {
		/* to the end (a FIN only means the peer sends no more) */
		while ((n = read(k->lfd.fd, sink, sizeof(sink))) > 0)
			;
		if (n < 0 && errno != EWOULDBLOCK && errno != EINTR) {
			stk_sock_retire(k);
			return;
		}
	}
	stk_sock_flush_out(k, false);
}

static void stk_sock_event(struct stk_loop_fd *lfd, uint32_t ev)
{
	struct stk_sock *k = stk_sock_of_lfd(lfd);
	unsigned out = 0;

	if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		k->blocked = false;
	if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		k->drained = false;
	if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		k->rdhup = true;
	if (k->orphan) {
		stk_sock_orphan_event(k, ev);
		return;
	}
	if (k->connecting) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(lfd->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err == 0 && (ev & (EPOLLERR | EPOLLHUP)))
			err = ECONNREFUSED;
		if (err) {
			k->s.error = err;
			stk_stream_notify(&k->s, STK_EV_ERROR);
			return;
		}
		k->connecting = false;
		out |= STK_EV_CONNECTED;
	}
	if ((ev & EPOLLOUT) && k->out_len && !stk_sock_flush_out(k, false)) {
		stk_stream_notify(&k->s, STK_EV_ERROR);
		return;
	}
	if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		out |= STK_EV_READABLE;
	if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		out |= STK_EV_WRITABLE;
	if (out)
		stk_stream_notify(&k->s, out);
}

static struct stk_sock *stk_sock_new(struct stk_loop *l, int fd)
{
	struct stk_sock *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->s.ops = &stk_sock_ops;
	k->loop = l;
	k->lfd.fd = fd;
	k->lfd.fn = stk_sock_event;
	k->lfd.release = stk_sock_release;
	k->lfd.flush = stk_sock_flush;
	return k;
}

struct stk_stream *stk_sock_connect(struct stk_loop *l,
				    const struct sockaddr *sa,
				    socklen_t salen, const char *bind_dev,
				    int *err)
{
	struct stk_sock *k;
	int fd, one = 1;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    IPPROTO_TCP);
	if (fd < 0) {
		*err = errno;
		return NULL;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind_dev && bind_dev[0] &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, bind_dev,
		       (socklen_t)strlen(bind_dev)) < 0) {
		*err = errno;
		close(fd);
		return NULL;
	}
	k = stk_sock_new(l, fd);
	if (!k) {
		*err = ENOMEM;
		close(fd);
		return NULL;
	}
	k->connecting = true;
	if (connect(fd, sa, salen) < 0 && errno != EINPROGRESS) {
		*err = errno;
		goto fail;
	}
	if (stk_loop_add(l, &k->lfd) < 0) {
		*err = errno;
		goto fail;
	}
	return &k->s;
fail:
	close(fd);
	free(k);
	return NULL;
}

struct stk_stream *stk_sock_wrap(struct stk_loop *l, int fd)
{
	struct stk_sock *k = stk_sock_new(l, fd);

	if (!k)
		return NULL;
	if (stk_loop_add(l, &k->lfd) < 0) {
		free(k);
		return NULL;
	}
	return &k->s;
}

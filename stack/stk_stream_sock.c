/* Streams over non-blocking kernel TCP sockets, driven by a worker's
 * epoll loop (edge-triggered). */
#include "stk_stream_sock.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct stk_sock {
	struct stk_stream s;
	struct stk_loop_fd lfd;
	struct stk_loop *loop;
	bool connecting;
};

static struct stk_sock *stk_sock_of(struct stk_stream *s)
{
	return (struct stk_sock *)s;
}

static ssize_t stk_sock_read(struct stk_stream *s, void *buf, size_t len)
{
	struct stk_sock *k = stk_sock_of(s);
	ssize_t n;

	if (k->connecting)
		return -EAGAIN;
	do {
		n = read(k->lfd.fd, buf, len);
	} while (n < 0 && errno == EINTR);
	if (n >= 0)
		return n;
	return errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

static ssize_t stk_sock_write(struct stk_stream *s, const void *buf, size_t len)
{
	struct stk_sock *k = stk_sock_of(s);
	ssize_t n;

	if (k->connecting)
		return -EAGAIN;
	do {
		n = send(k->lfd.fd, buf, len, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n > 0)
		return n;
	if (n == 0 || errno == EWOULDBLOCK)
		return -EAGAIN;
	return -errno;
}

static int stk_sock_shutdown(struct stk_stream *s)
{
	return shutdown(stk_sock_of(s)->lfd.fd, SHUT_WR) < 0 ? -errno : 0;
}

static void stk_sock_release(struct stk_loop_fd *lfd)
{
	free((uint8_t *)lfd - offsetof(struct stk_sock, lfd));
}

static void stk_sock_close(struct stk_stream *s)
{
	struct stk_sock *k = stk_sock_of(s);

	k->s.cb = NULL;
	stk_loop_retire(k->loop, &k->lfd);
}

static void stk_sock_abort(struct stk_stream *s)
{
	struct stk_sock *k = stk_sock_of(s);
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	/* Linger 0: close() sends RST instead of FIN. */
	setsockopt(k->lfd.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	stk_sock_close(s);
}

static const struct stk_stream_ops stk_sock_ops = {
	.read = stk_sock_read,
	.write = stk_sock_write,
	.shutdown = stk_sock_shutdown,
	.close = stk_sock_close,
	.abort = stk_sock_abort,
};

static void stk_sock_event(struct stk_loop_fd *lfd, uint32_t ev)
{
	struct stk_sock *k = (struct stk_sock *)((uint8_t *)lfd -
						 offsetof(struct stk_sock, lfd));
	unsigned out = 0;

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

/* A worker's epoll loop. */
#include "stk_loop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

uint64_t stk_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int stk_loop_init(struct stk_loop *l)
{
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->now_ns = stk_now_ns();
	l->dead = NULL;
	l->flush_list = NULL;
	l->orphans = NULL;
	return l->epfd < 0 ? -errno : 0;
}

static void stk_loop_reap(struct stk_loop *l);

void stk_loop_fini(struct stk_loop *l)
{
	while (l->orphans) {
		struct stk_loop_fd *lfd = l->orphans;

		stk_loop_unorphan(lfd);
		stk_loop_retire(l, lfd);
	}
	stk_loop_reap(l);
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
}

int stk_loop_add(struct stk_loop *l, struct stk_loop_fd *lfd)
{
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
		.data.ptr = lfd,
	};

	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, lfd->fd, &ev) < 0 ? -errno : 0;
}

int stk_loop_watch(struct stk_loop *l, struct stk_loop_fd *lfd,
		   uint32_t events, bool modify)
{
	struct epoll_event ev = { .events = events, .data.ptr = lfd };

	return epoll_ctl(l->epfd, modify ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
			 lfd->fd, &ev) < 0 ? -errno : 0;
}

void stk_loop_del(struct stk_loop *l, struct stk_loop_fd *lfd)
{
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, lfd->fd, NULL);
}

void stk_loop_retire(struct stk_loop *l, struct stk_loop_fd *lfd)
{
	if (lfd->fd >= 0) {
		stk_loop_del(l, lfd);
		close(lfd->fd);
		lfd->fd = -1;
	}
	lfd->next_dead = l->dead;
	l->dead = lfd;
}

void stk_loop_defer_flush(struct stk_loop *l, struct stk_loop_fd *lfd)
{
	if (lfd->flush_queued)
		return;
	lfd->flush_queued = true;
	lfd->next_flush = l->flush_list;
	l->flush_list = lfd;
}

void stk_loop_flush(struct stk_loop *l)
{
	/* a flush may run callbacks that queue more: take one at a time */
	while (l->flush_list) {
		struct stk_loop_fd *lfd = l->flush_list;

		l->flush_list = lfd->next_flush;
		lfd->flush_queued = false;
		if (lfd->fd >= 0)
			lfd->flush(lfd);
	}
}

void stk_loop_orphan(struct stk_loop *l, struct stk_loop_fd *lfd)
{
	lfd->next_orphan = l->orphans;
	if (l->orphans)
		l->orphans->pprev_orphan = &lfd->next_orphan;
	lfd->pprev_orphan = &l->orphans;
	l->orphans = lfd;
}

void stk_loop_unorphan(struct stk_loop_fd *lfd)
{
	if (!lfd->pprev_orphan)
		return;
	*lfd->pprev_orphan = lfd->next_orphan;
	if (lfd->next_orphan)
		lfd->next_orphan->pprev_orphan = lfd->pprev_orphan;
	lfd->next_orphan = NULL;
	lfd->pprev_orphan = NULL;
}

static void stk_loop_reap(struct stk_loop *l)
{
	/* nothing on the flush list may be freed under it */
	stk_loop_flush(l);
	while (l->dead) {
		struct stk_loop_fd *lfd = l->dead;

		l->dead = lfd->next_dead;
		lfd->release(lfd);
	}
}

int stk_loop_wait(struct stk_loop *l, int timeout_ms)
{
	stk_loop_flush(l);
	return stk_loop_wait_events(l, timeout_ms);
}

int stk_loop_wait_events(struct stk_loop *l, int timeout_ms)
{
	int n = epoll_wait(l->epfd, l->ready, STK_LOOP_EVENTS, timeout_ms);

	l->now_ns = stk_now_ns();
	l->n_ready = n < 0 ? 0 : n;
	return l->n_ready;
}

void stk_loop_dispatch(struct stk_loop *l)
{
	for (int i = 0; i < l->n_ready; i++) {
		struct stk_loop_fd *lfd = l->ready[i].data.ptr;

		if (lfd->fd >= 0)
			lfd->fn(lfd, l->ready[i].events);
	}
	l->n_ready = 0;
	stk_loop_reap(l);
}

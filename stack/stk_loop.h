/* The event loop of one worker: an epoll set for kernel sockets and
 * wake-up fds, and a coarse clock for timeouts. Owned by one thread.
 *
 * A pass of the loop is: wait, dispatch the ready fds, let the owner do
 * its other work, flush. Streams hold small writes back until the flush
 * (stk_loop_defer_flush), so a connection whose engines wrote several
 * times in one pass (a response head and its body, HTTP/2 frames of
 * many streams) costs one system call. */
#ifndef STRATA_STK_LOOP_H
#define STRATA_STK_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

struct stk_loop;

/* A registered fd; embed it and recover the owner in fn. */
struct stk_loop_fd {
	int fd;
	void (*fn)(struct stk_loop_fd *lfd, uint32_t epoll_events);
	/* Owners freed while events for them may still be pending in the
	 * current batch are released after it. */
	void (*release)(struct stk_loop_fd *lfd);
	struct stk_loop_fd *next_dead;
	/* Output held back until the end of the pass (optional). */
	void (*flush)(struct stk_loop_fd *lfd);
	struct stk_loop_fd *next_flush;
	bool flush_queued;
	/* On the loop's list of fds nobody owns any more (a closed socket
	 * still sending what it was given): released at stk_loop_fini. */
	struct stk_loop_fd *next_orphan, **pprev_orphan;
};

#define STK_LOOP_EVENTS 64

struct stk_loop {
	int epfd;
	uint64_t now_ns;    /* CLOCK_MONOTONIC, refreshed by stk_loop_wait */
	struct stk_loop_fd *dead;
	struct stk_loop_fd *flush_list;
	struct stk_loop_fd *orphans;
	struct epoll_event ready[STK_LOOP_EVENTS];
	int n_ready;
};

int stk_loop_init(struct stk_loop *l);
void stk_loop_fini(struct stk_loop *l);

/* Watch lfd->fd, edge-triggered, for input, output and hang-up. */
int stk_loop_add(struct stk_loop *l, struct stk_loop_fd *lfd);
/* Watch (or change to) exactly these epoll events, level-triggered. */
int stk_loop_watch(struct stk_loop *l, struct stk_loop_fd *lfd,
		   uint32_t events, bool modify);
void stk_loop_del(struct stk_loop *l, struct stk_loop_fd *lfd);
/* Stop watching, close the fd, and call lfd->release once no event of
 * the current batch can reach lfd any more. */
void stk_loop_retire(struct stk_loop *l, struct stk_loop_fd *lfd);

/* Call lfd->flush at the end of this pass (once, however often asked). */
void stk_loop_defer_flush(struct stk_loop *l, struct stk_loop_fd *lfd);
/* End of a pass: run the deferred flushes (with the stack lock: a flush
 * that fails tells the stream's owner). Owners of the loop call this
 * after each batch of work; stk_loop_wait and stk_loop_dispatch do too. */
void stk_loop_flush(struct stk_loop *l);

/* lfd outlives its owner until it finishes on its own (it then calls
 * stk_loop_unorphan and retires itself); stk_loop_fini retires what is
 * left. */
void stk_loop_orphan(struct stk_loop *l, struct stk_loop_fd *lfd);
void stk_loop_unorphan(struct stk_loop_fd *lfd);

/* Wait up to timeout_ms (0 = poll) for events, after a flush, then
 * dispatch them and flush (with the stack lock: handlers touch lwIP). */
int stk_loop_wait(struct stk_loop *l, int timeout_ms);
/* stk_loop_wait without the flush, for an owner that waits without the
 * stack lock: lwIP's tcpip thread may queue flushes meanwhile (its
 * timers run stream callbacks), and a flush runs stream callbacks that
 * call lwIP. Such flushes wait for the owner's next locked pass. */
int stk_loop_wait_events(struct stk_loop *l, int timeout_ms);
void stk_loop_dispatch(struct stk_loop *l);

uint64_t stk_now_ns(void);

#endif

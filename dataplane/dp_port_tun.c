/* TUN port: raw IP packets through /dev/net/tun.
 *
 * strata's own backend rather than DPDK's net_tun: each queue is a plain
 * non-blocking fd that an idle lcore can sleep on in epoll (a laptop must
 * not spin), it needs no DPDK device set-up, and IFF_MULTI_QUEUE gives
 * one fd per queue. The kernel side's addresses and routes are set with
 * rtnetlink. See docs/PORTS.md. */
#include "dp_port.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <rte_mbuf.h>

#include "conf/conf.h"

#define DP_TUN_MAX_QUEUES 16

struct dp_tun {
	int fd[DP_TUN_MAX_QUEUES];
	/* With a large MTU each read goes into a large mbuf kept here;
	 * packets that fit a standard one are copied out, so the few
	 * large mbufs carry only the packets that need them. */
	struct rte_mbuf *spare[DP_TUN_MAX_QUEUES];
	uint16_t n;
	struct dp_port_stats st[DP_TUN_MAX_QUEUES];
};

/* ---- rtnetlink: one request, wait for its ack ---- */

struct dp_nl_req {
	struct nlmsghdr nh;
	union {
		struct ifaddrmsg ifa;
		struct rtmsg rt;
	};
	char attrs[64];
};

static void dp_nl_attr(struct dp_nl_req *r, uint16_t type, const void *data,
		       uint16_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));

	a->rta_type = type;
	a->rta_len = (uint16_t)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static int dp_nl_talk(struct dp_nl_req *r)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char buf[4096];
	int fd, rc = -EIO;
	ssize_t n;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	r->nh.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (sendto(fd, r, r->nh.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		goto out;
	}
	n = recv(fd, buf, sizeof(buf), 0);
	if (n >= (ssize_t)(sizeof(struct nlmsghdr) + sizeof(struct nlmsgerr))) {
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (h->nlmsg_type == NLMSG_ERROR)
			rc = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
	}
out:
	close(fd);
	return rc == -EEXIST ? 0 : rc;
}

static int dp_tun_add_addr(int ifindex, const struct conf_prefix *pf)
{
	struct dp_nl_req r;
	uint32_t flags = IFA_F_NODAD;

	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
	r.nh.nlmsg_type = RTM_NEWADDR;
	r.nh.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	r.ifa.ifa_family = pf->v4 ? AF_INET : AF_INET6;
	r.ifa.ifa_prefixlen = pf->prefix_len;
	r.ifa.ifa_index = (uint32_t)ifindex;
	if (pf->v4) {
		dp_nl_attr(&r, IFA_LOCAL, &pf->addr.w[3], 4);
		dp_nl_attr(&r, IFA_ADDRESS, &pf->addr.w[3], 4);
	} else {
		dp_nl_attr(&r, IFA_ADDRESS, pf->addr.b, 16);
		dp_nl_attr(&r, IFA_FLAGS, &flags, 4);
	}
	return dp_nl_talk(&r);
}

static int dp_tun_add_route(int ifindex, const struct conf_prefix *pf)
{
	struct dp_nl_req r;
	uint32_t oif = (uint32_t)ifindex;
	union dp_addr dst = pf->addr;
	unsigned bits = pf->v4 ? 96u + pf->prefix_len : pf->prefix_len, i;

	/* the kernel wants the network, not a host address */
	for (i = bits; i < 128; i++)
		dst.b[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
	memset(&r, 0, sizeof(r));
	r.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	r.nh.nlmsg_type = RTM_NEWROUTE;
	r.nh.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	r.rt.rtm_family = pf->v4 ? AF_INET : AF_INET6;
	r.rt.rtm_dst_len = pf->prefix_len;
	r.rt.rtm_table = RT_TABLE_MAIN;
	r.rt.rtm_protocol = RTPROT_STATIC;
	r.rt.rtm_scope = RT_SCOPE_LINK;
	r.rt.rtm_type = RTN_UNICAST;
	dp_nl_attr(&r, RTA_DST, pf->v4 ? (void *)&dst.w[3] : (void *)dst.b,
		   pf->v4 ? 4 : 16);
	dp_nl_attr(&r, RTA_OIF, &oif, 4);
	return dp_nl_talk(&r);
}

/* ---- data path ---- */

/* One packet from queue q's fd into an mbuf; NULL when there is none
 * (or no mbuf: counted). */
static struct rte_mbuf *dp_tun_read(struct dp_port *p, struct dp_tun *t,
				    uint16_t q)
{
	struct rte_mbuf *m = t->spare[q], *small;
	ssize_t r;

	if (!m)
		m = rte_pktmbuf_alloc(p->big_mp ? p->big_mp : p->mp);
	if (!m) {
		t->st[q].rx_nombuf++;
		return NULL;
	}
	r = read(t->fd[q], rte_pktmbuf_mtod(m, void *), rte_pktmbuf_tailroom(m));
	if (r <= 0) {
		if (r < 0 && errno != EAGAIN && errno != EINTR)
			t->st[q].rx_errors++;
		if (p->big_mp)
			t->spare[q] = m;
		else
			rte_pktmbuf_free(m);
		return NULL;
	}
	t->st[q].rx_pkts++;
	t->st[q].rx_bytes += (uint64_t)r;
	t->spare[q] = NULL;
	if (p->big_mp && dp_port_pool(p, (uint32_t)r) == p->mp &&
	    (small = rte_pktmbuf_alloc(p->mp)) != NULL) {
		memcpy(rte_pktmbuf_mtod(small, void *),
		       rte_pktmbuf_mtod(m, void *), (size_t)r);
		t->spare[q] = m;
		m = small;
	}
	m->data_len = (uint16_t)r;
	m->pkt_len = (uint32_t)r;
	m->port = p->id;
	return m;
}

static uint16_t dp_tun_rx(struct dp_port *p, uint16_t q,
			  struct rte_mbuf **pkts, uint16_t n)
{
	struct dp_tun *t = p->priv;
	uint16_t got = 0;

	while (got < n) {
		struct rte_mbuf *m = dp_tun_read(p, t, q);

		if (!m)
			break;
		pkts[got++] = m;
	}
	return got;
}

static uint16_t dp_tun_tx(struct dp_port *p, uint16_t q,
			  struct rte_mbuf **pkts, uint16_t n)
{
	struct dp_tun *t = p->priv;
	/* tx queues may be shared by lcores: counters are per queue index */
	struct dp_port_stats *st = &t->st[q % t->n];
	int fd = t->fd[q % t->n];
	uint16_t i;

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i], *s;
		struct iovec iov[8];
		int k = 0;
		ssize_t r;

		for (s = m; s && k < 8; s = s->next, k++) {
			iov[k].iov_base = rte_pktmbuf_mtod(s, void *);
			iov[k].iov_len = s->data_len;
		}
		r = writev(fd, iov, k);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			break; /* the caller keeps the rest */
		if (r < 0) {
			st->tx_errors++;
		} else {
			st->tx_pkts++;
			st->tx_bytes += m->pkt_len;
		}
		rte_pktmbuf_free(m);
	}
	return i;
}

static int dp_tun_wait_fd(struct dp_port *p, uint16_t q)
{
	struct dp_tun *t = p->priv;

	return q < t->n ? t->fd[q] : -1;
}

static void dp_tun_close(struct dp_port *p)
{
	struct dp_tun *t = p->priv;

	if (!t)
		return;
	for (uint16_t i = 0; i < t->n; i++) {
		close(t->fd[i]);
		rte_pktmbuf_free(t->spare[i]);
	}
	free(t);
}

static void dp_tun_stats(const struct dp_port *p, struct dp_port_stats *s)
{
	const struct dp_tun *t = p->priv;

	for (uint16_t i = 0; i < t->n; i++) {
		s->rx_pkts += t->st[i].rx_pkts;
		s->rx_bytes += t->st[i].rx_bytes;
		s->tx_pkts += t->st[i].tx_pkts;
		s->tx_bytes += t->st[i].tx_bytes;
		s->rx_errors += t->st[i].rx_errors;
		s->tx_errors += t->st[i].tx_errors;
		s->rx_nombuf += t->st[i].rx_nombuf;
	}
}

static const struct dp_port_ops dp_tun_ops = {
	.kind = "tun",
	.rx_burst = dp_tun_rx,
	.tx_burst = dp_tun_tx,
	.rx_wait_fd = dp_tun_wait_fd,
	.close = dp_tun_close,
	.stats = dp_tun_stats,
};

struct dp_port *dp_port_tun_open(const struct conf_port *c, struct dp_port *p,
				 uint16_t n_queues, char *err, size_t errlen)
{
	struct dp_tun *t;
	struct ifreq ifr;
	int sock = -1, ifindex, rc;
	unsigned i;

	if (n_queues < 1)
		n_queues = 1;
	if (n_queues > DP_TUN_MAX_QUEUES)
		n_queues = DP_TUN_MAX_QUEUES;
	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "port %s: out of memory", c->name);
		return NULL;
	}
	p->priv = t;
	p->ops = &dp_tun_ops;
	p->link = DP_LINK_RAW_IP;

	for (i = 0; i < n_queues; i++) {
		int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

		if (fd < 0) {
			snprintf(err, errlen, "port %s: /dev/net/tun: %s", c->name,
				 strerror(errno));
			goto fail;
		}
		memset(&ifr, 0, sizeof(ifr));
		ifr.ifr_flags = IFF_TUN | IFF_NO_PI |
				(n_queues > 1 ? IFF_MULTI_QUEUE : 0);
		snprintf(ifr.ifr_name, IFNAMSIZ, "%s", c->ifname);
		if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
			snprintf(err, errlen, "port %s: TUNSETIFF %s: %s%s", c->name,
				 c->ifname, strerror(errno),
				 errno == EPERM ? " (needs root or CAP_NET_ADMIN)" : "");
			close(fd);
			goto fail;
		}
		t->fd[t->n++] = fd;
	}
	p->n_rxq = p->n_txq = t->n;

	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		goto fail_errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", c->ifname);
	ifr.ifr_mtu = c->mtu;
	if (ioctl(sock, SIOCSIFMTU, &ifr) < 0)
		goto fail_errno;
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		goto fail_errno;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
		goto fail_errno;
	ifindex = (int)if_nametoindex(c->ifname);
	for (i = 0; i < c->n_kernel_addrs; i++) {
		rc = dp_tun_add_addr(ifindex, &c->kernel_addrs[i]);
		if (rc < 0) {
			snprintf(err, errlen, "port %s: kernel address #%u: %s",
				 c->name, i, strerror(-rc));
			goto fail;
		}
	}
	for (i = 0; i < c->n_routes; i++) {
		rc = dp_tun_add_route(ifindex, &c->routes[i]);
		if (rc < 0) {
			snprintf(err, errlen, "port %s: route #%u: %s", c->name, i,
				 strerror(-rc));
			goto fail;
		}
	}
	close(sock);
	return p;

fail_errno:
	snprintf(err, errlen, "port %s: configuring %s: %s", c->name, c->ifname,
		 strerror(errno));
fail:
	if (sock >= 0)
		close(sock);
	dp_tun_close(p);
	p->priv = NULL;
	return NULL;
}

/* Loading private lwIP instances and feeding them packets. */
#include "stk_lwip.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "lwip/prot/tcp.h"

#include "dataplane/dp_parse.h"

#define STK_LWIP_LIB "liblwip.so.0"
#define STK_LWIP_DIR "/usr/lib/x86_64-linux-gnu/"

/* A private copy of the library in a memfd, so that dlopen() loads a
 * new image (with its own globals) for every instance. */
static int stk_lwip_copy(char *err, size_t errlen)
{
	struct stat st;
	int in, out;
	off_t off = 0;

	in = open(STK_LWIP_DIR STK_LWIP_LIB, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		snprintf(err, errlen, "cannot open %s: %s (install liblwip-dev)",
			 STK_LWIP_DIR STK_LWIP_LIB, strerror(errno));
		return -1;
	}
	out = memfd_create("strata-lwip", MFD_CLOEXEC);
	if (out < 0 || fstat(in, &st) < 0) {
		snprintf(err, errlen, "cannot copy lwIP: %s", strerror(errno));
		goto fail;
	}
	while (off < st.st_size) {
		ssize_t n = sendfile(out, in, &off, (size_t)(st.st_size - off));

		if (n <= 0) {
			snprintf(err, errlen, "cannot copy lwIP: %s",
				 n < 0 ? strerror(errno) : "short copy");
			goto fail;
		}
	}
	close(in);
	return out;
fail:
	if (out >= 0)
		close(out);
	close(in);
	return -1;
}

static void stk_lwip_started(void *arg)
{
	sem_post(arg);
}

struct stk_lwip *stk_lwip_load(char *err, size_t errlen)
{
	struct stk_lwip *s = calloc(1, sizeof(*s));
	char path[64];
	sem_t started;
	int fd;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->listeners = calloc(65536, sizeof(*s->listeners));
	if (!s->listeners) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	fd = stk_lwip_copy(err, errlen);
	if (fd < 0)
		goto fail;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	s->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!s->dl) {
		close(fd);
		snprintf(err, errlen, "cannot load lwIP: %s", dlerror());
		goto fail;
	}
	/* The fd stays open for good, as the image stays loaded: dlopen
	 * knows a loaded object by its path, and a later memfd given the
	 * same number would get this image back instead of a copy (two
	 * workers on one lwIP). */
#define STK_LWIP_SYM(name)                                              \
	s->api.name = (__typeof__(s->api.name))dlsym(s->dl, #name);      \
	if (!s->api.name) {                                              \
		snprintf(err, errlen, "lwIP lacks %s", #name);           \
		goto fail_dl;                                            \
	}
	STK_LWIP_FUNCS(STK_LWIP_SYM)
#undef STK_LWIP_SYM
	s->ip_data = dlsym(s->dl, "ip_data");
	s->netif_default = dlsym(s->dl, "netif_default");
	s->tw_pcbs = dlsym(s->dl, "tcp_tw_pcbs");
	s->active_pcbs = dlsym(s->dl, "tcp_active_pcbs");
	s->slow_ticks = dlsym(s->dl, "tcp_ticks");
	if (!s->ip_data || !s->netif_default || !s->tw_pcbs ||
	    !s->active_pcbs || !s->slow_ticks) {
		snprintf(err, errlen, "lwIP lacks ip_data, netif_default or "
			 "its pcb lists");
		goto fail_dl;
	}
	/* tcpip_init() creates the core lock; nothing may lock before. */
	sem_init(&started, 0, 0);
	s->api.tcpip_init(stk_lwip_started, &started);
	while (sem_wait(&started) < 0 && errno == EINTR)
		;
	sem_destroy(&started);
	return s;
fail_dl:
	dlclose(s->dl);
	close(fd);
fail:
	free(s->listeners);
	free(s);
	return NULL;
}

void stk_lwip_unload(struct stk_lwip *s)
{
	unsigned i;

	if (!s)
		return;
	stk_lwip_lock(s);
	for (i = 0; i < 65536; i++)
		if (s->listeners[i])
			s->api.tcp_close(s->listeners[i]);
	/* The tcpip thread lives on in the image (never dlclose) and its
	 * timers walk the netif list: take ours out before freeing them. */
	for (i = 0; i < s->n_netifs; i++)
		s->api.netif_remove(&s->netifs[i]);
	stk_lwip_unlock(s);
	free(s->listeners);
	free(s);
}

void stk_lwip_set_handlers(struct stk_lwip *s, stk_lwip_output_fn output,
			   stk_lwip_accept_fn accept, void *arg)
{
	s->output = output;
	s->accept = accept;
	s->arg = arg;
}

static struct stk_lwip *stk_lwip_of(struct netif *nif)
{
	return nif->state;
}

static err_t stk_lwip_netif_out(struct netif *nif, struct pbuf *p)
{
	struct stk_lwip *s = stk_lwip_of(nif);
	unsigned i = (unsigned)(nif - s->netifs);

	if (s->output)
		s->output(s->arg, s->netif_port[i], p);
	return ERR_OK;
}

static err_t stk_lwip_out4(struct netif *nif, struct pbuf *p,
			   const ip4_addr_t *dst)
{
	(void)dst;
	return stk_lwip_netif_out(nif, p);
}

static err_t stk_lwip_out6(struct netif *nif, struct pbuf *p,
			   const ip6_addr_t *dst)
{
	(void)dst;
	return stk_lwip_netif_out(nif, p);
}

static err_t stk_lwip_netif_init(struct netif *nif)
{
	nif->output = stk_lwip_out4;
	nif->output_ip6 = stk_lwip_out6;
	nif->name[0] = 's';
	nif->name[1] = 't';
	/* No link-layer: lwIP builds IP packets, the dataplane adds L2. */
	nif->flags = NETIF_FLAG_LINK_UP;
	return ERR_OK;
}

int stk_lwip_add_port(struct stk_lwip *s, uint16_t port, uint16_t mtu,
		      uint32_t addr4, unsigned prefix_len,
		      const uint8_t (*addr6)[16], unsigned n6)
{
	ip4_addr_t ip, mask, gw;
	struct netif *nif;

	if (s->n_netifs == STK_LWIP_MAX_NETIFS)
		return -1;
	nif = &s->netifs[s->n_netifs];
	ip.addr = addr4;
	mask.addr = prefix_len ? htonl(~0u << (32 - prefix_len)) : 0;
	gw.addr = 0;
	if (!s->api.netif_add(nif, &ip, &mask, &gw, s, stk_lwip_netif_init,
			      s->api.ip_input))
		return -1;
	nif->mtu = mtu;
	nif->mtu6 = mtu;
	s->netif_port[s->n_netifs] = port;
	for (unsigned i = 0; i < n6; i++) {
		ip6_addr_t a6;
		s8_t idx;

		memcpy(a6.addr, addr6[i], 16);
		ip6_addr_clear_zone(&a6);
		/* valid at once: strata's own addresses need no DAD here
		 * (the dataplane answers neighbour solicitations) */
		if (s->api.netif_add_ip6_address(nif, &a6, &idx) == ERR_OK)
			s->api.netif_ip6_addr_set_state(nif, idx,
							IP6_ADDR_PREFERRED);
	}
	s->api.netif_set_up(nif);
	s->api.netif_set_link_up(nif);
	if (s->n_netifs == 0)
		s->api.netif_set_default(nif);
	s->n_netifs++;
	return 0;
}

int stk_lwip_source(struct stk_lwip *s, const ip_addr_t *dst, ip_addr_t *src)
{
	struct netif *first = NULL;

	for (unsigned i = 0; i < s->n_netifs; i++) {
		struct netif *nif = &s->netifs[i];

		if (IP_IS_V4(dst)) {
			const ip4_addr_t *a = netif_ip4_addr(nif);

			if (ip4_addr_isany(a) || a->addr == htonl(0xa9fe0001))
				continue;
			if (!first)
				first = nif;
			if (ip4_addr_netcmp(ip_2_ip4(dst), a,
					    netif_ip4_netmask(nif))) {
				ip_addr_copy_from_ip4(*src, *a);
				return 0;
			}
			continue;
		}
		for (int j = 0; j < LWIP_IPV6_NUM_ADDRESSES; j++) {
			const ip6_addr_t *a = netif_ip6_addr(nif, j);

			if (!ip6_addr_isvalid(netif_ip6_addr_state(nif, j)))
				continue;
			if (!first)
				first = nif;
			if (!memcmp(a->addr, ip_2_ip6(dst)->addr, 8)) {
				ip_addr_copy_from_ip6(*src, *a);
				return 0;
			}
		}
	}
	if (!first)
		return -1;
	if (IP_IS_V4(dst)) {
		ip_addr_copy_from_ip4(*src, *netif_ip4_addr(first));
		return 0;
	}
	for (int j = 0; j < LWIP_IPV6_NUM_ADDRESSES; j++) {
		if (ip6_addr_isvalid(netif_ip6_addr_state(first, j))) {
			ip_addr_copy_from_ip6(*src, *netif_ip6_addr(first, j));
			return 0;
		}
	}
	return -1;
}

static struct netif *stk_lwip_netif(struct stk_lwip *s, uint16_t port)
{
	for (unsigned i = 0; i < s->n_netifs; i++)
		if (s->netif_port[i] == port)
			return &s->netifs[i];
	return s->n_netifs ? &s->netifs[0] : NULL;
}

static err_t stk_lwip_accepted(void *arg, struct tcp_pcb *newpcb, err_t err)
{
	struct stk_lwip *s = arg;

	if (err != ERR_OK || !newpcb)
		return ERR_VAL;
	if (!s->accept) {
		s->api.tcp_abort(newpcb);
		return ERR_ABRT;
	}
	return s->accept(s->arg, newpcb);
}

static bool stk_lwip_pcb_is(const struct tcp_pcb *p, const ip_addr_t *local,
			    uint16_t lport, const ip_addr_t *remote,
			    uint16_t rport)
{
	return p->local_port == lport && p->remote_port == rport &&
	       ip_addr_cmp(&p->local_ip, local) &&
	       ip_addr_cmp(&p->remote_ip, remote);
}

bool stk_lwip_has_pcb(struct stk_lwip *s, const ip_addr_t *local,
		      uint16_t lport, const ip_addr_t *remote, uint16_t rport)
{
	for (struct tcp_pcb *p = *s->active_pcbs; p; p = p->next)
		if (stk_lwip_pcb_is(p, local, lport, remote, rport))
			return true;
	return false;
}

unsigned stk_lwip_expire_timewait(struct stk_lwip *s, uint32_t max_ms)
{
	uint32_t max_ticks = (max_ms + TCP_SLOW_INTERVAL - 1) / TCP_SLOW_INTERVAL;
	unsigned n = 0;

	for (struct tcp_pcb *p = *s->tw_pcbs, *next; p; p = next) {
		next = p->next;
		/* tmr: the tick of the pcb's last segment */
		if (*s->slow_ticks - p->tmr >= max_ticks) {
			s->api.tcp_abort(p);
			n++;
		}
	}
	return n;
}

int stk_lwip_forget_timewait(struct stk_lwip *s, const ip_addr_t *local,
			     uint16_t lport, const ip_addr_t *remote,
			     uint16_t rport)
{
	for (struct tcp_pcb *p = *s->tw_pcbs; p; p = p->next) {
		if (stk_lwip_pcb_is(p, local, lport, remote, rport)) {
			/* tcp_abort() of a TIME_WAIT pcb frees it, no RST */
			s->api.tcp_abort(p);
			return 1;
		}
	}
	return 0;
}

/* Offset of the MSS option's value in the TCP header at tcp, or 0. */
static unsigned stk_lwip_mss_opt(const uint8_t *tcp, unsigned l4_len)
{
	unsigned hlen = (unsigned)(tcp[12] >> 4) * 4, i = 20;

	if (hlen > l4_len)
		return 0;
	while (i < hlen) {
		if (tcp[i] == 0) /* end of options */
			return 0;
		if (tcp[i] == 1) { /* no-op */
			i++;
			continue;
		}
		if (i + 1 >= hlen || tcp[i + 1] < 2 || i + tcp[i + 1] > hlen)
			return 0;
		if (tcp[i] == 2 && tcp[i + 1] == 4)
			return i + 2;
		i += tcp[i + 1];
	}
	return 0;
}

uint16_t stk_lwip_syn_mss(const uint8_t *pkt, const struct dp_pkt_view *v)
{
	const uint8_t *tcp = pkt + v->l4_off;
	unsigned o = stk_lwip_mss_opt(tcp, v->l4_len);

	if (!o)
		return v->ip_version == 4 ? 536 : 1220;
	return (uint16_t)((tcp[o] << 8) | tcp[o + 1]);
}

static uint16_t stk_lwip_mtu_mss(uint16_t mtu, bool v6)
{
	return (uint16_t)(mtu - (v6 ? 60 : 40));
}

void stk_lwip_advertise_mss(uint8_t *pkt, const struct dp_pkt_view *v,
			    uint16_t mtu)
{
	uint8_t *tcp = pkt + v->l4_off;
	unsigned o = stk_lwip_mss_opt(tcp, v->l4_len);
	uint16_t want = stk_lwip_mtu_mss(mtu, v->ip_version == 6), sum;

	if (!o || ((tcp[o] << 8) | tcp[o + 1]) >= want)
		return;
	tcp[o] = (uint8_t)(want >> 8);
	tcp[o + 1] = (uint8_t)want;
	tcp[16] = tcp[17] = 0;
	sum = dp_csum_l4(pkt, v);
	tcp[16] = (uint8_t)(sum >> 8);
	tcp[17] = (uint8_t)sum;
}

void stk_lwip_set_mss(struct stk_lwip *s, uint16_t port,
		      struct tcp_pcb *pcb, uint16_t peer_mss)
{
	struct netif *nif = stk_lwip_netif(s, port);
	uint16_t mss;

	if (!nif)
		return;
	mss = stk_lwip_mtu_mss(nif->mtu, IP_IS_V6(&pcb->remote_ip));
	if (peer_mss < mss)
		mss = peer_mss;
	/* lwIP's own choice stands when it is larger (it never is past
	 * TCP_MSS) */
	if (mss > pcb->mss)
		pcb->mss = mss;
}

int stk_lwip_listen(struct stk_lwip *s, uint16_t dport)
{
	static const ip_addr_t any = IPADDR_ANY_TYPE_INIT;
	struct tcp_pcb *pcb, *lpcb;

	if (s->listeners[dport])
		return 0;
	pcb = s->api.tcp_new_ip_type(IPADDR_TYPE_ANY);
	if (!pcb)
		return -1;
	/* Outbound pcbs may hold the same local port. */
	ip_set_option(pcb, SOF_REUSEADDR);
	if (s->api.tcp_bind(pcb, &any, dport) != ERR_OK) {
		s->api.tcp_abort(pcb);
		return -1;
	}
	lpcb = s->api.tcp_listen_with_backlog(pcb, TCP_DEFAULT_LISTEN_BACKLOG);
	if (!lpcb) {
		s->api.tcp_abort(pcb);
		return -1;
	}
	s->api.tcp_arg(lpcb, s);
	s->api.tcp_accept(lpcb, stk_lwip_accepted);
	s->listeners[dport] = lpcb;
	s->n_listeners++;
	return 0;
}

#define STK_LWIP_SLACK 4

int stk_lwip_input_tcp(struct stk_lwip *s, uint16_t port, const uint8_t *pkt,
		       uint16_t len, uint16_t l3_hdr_len)
{
	struct ip_globals *g = s->ip_data;
	struct netif *nif = stk_lwip_netif(s, port);
	struct pbuf *p;
	bool v6 = (pkt[0] >> 4) == 6;

	if (!nif || len < l3_hdr_len + 20 || len > 65535 - STK_LWIP_SLACK)
		return -1;
	/* PBUF_RAM: one contiguous buffer. (Debian's build sizes its pool
	 * pbufs for a smaller MSS than its headers say, and pbuf_take into a
	 * pool chain overruns them: never use PBUF_POOL here.) */
	/* A few spare bytes past the packet: lwIP 2.1.3's tcp_parseopt()
	 * reads the length byte of an option whose kind is the last option
	 * byte, one past a segment with no payload (valgrind and ASan via
	 * fuzz_stack; tests/fuzz/repro). The pbuf is one block, so its
	 * lengths may simply be set back to the packet's. */
	p = s->api.pbuf_alloc(PBUF_RAW, (uint16_t)(len + STK_LWIP_SLACK),
			      PBUF_RAM);
	if (!p)
		return -1;
	p->len = p->tot_len = len;
	if (s->api.pbuf_take(p, pkt, len) != ERR_OK) {
		s->api.pbuf_free(p);
		return -1;
	}
	/* What ip4_input()/ip6_input() would have set, for this packet. */
	g->current_netif = nif;
	g->current_input_netif = nif;
	g->current_ip_header_tot_len = l3_hdr_len;
	if (v6) {
		g->current_ip4_header = NULL;
		g->current_ip6_header = p->payload;
		ip_addr_copy_from_ip6_packed(g->current_iphdr_src,
					     ((struct ip6_hdr *)p->payload)->src);
		ip_addr_copy_from_ip6_packed(g->current_iphdr_dest,
					     ((struct ip6_hdr *)p->payload)->dest);
	} else {
		const struct ip_hdr *h = p->payload;

		g->current_ip6_header = NULL;
		g->current_ip4_header = h;
		ip_addr_copy_from_ip4(g->current_iphdr_src, h->src);
		ip_addr_copy_from_ip4(g->current_iphdr_dest, h->dest);
	}
	/* Replies to a connection in the handshake route by the default
	 * netif: make it the one this packet came in on. */
	if (nif != *s->netif_default)
		s->api.netif_set_default(nif);
	s->api.pbuf_remove_header(p, l3_hdr_len);
	s->api.tcp_input(p, nif);
	g->current_netif = NULL;
	g->current_input_netif = NULL;
	g->current_ip4_header = NULL;
	g->current_ip6_header = NULL;
	g->current_ip_header_tot_len = 0;
	ip_addr_set_zero(&g->current_iphdr_src);
	ip_addr_set_zero(&g->current_iphdr_dest);
	return 0;
}

/* Every reason the dataplane drops a packet, from one list.
 *
 * Each entry is X(ENUM_SUFFIX, "json_name"). A drop is always counted
 * under exactly one reason; the JSON name is what `strata pcap` and the
 * SIGUSR1 dump print. Append new reasons inside the section of the
 * module that owns them. */
#ifndef STRATA_DP_DROP_H
#define STRATA_DP_DROP_H

#define DP_DROP_REASONS(X)                                              \
	X(NONE, "none") /* value 0: never a drop; keeps -reason != 0 */ \
	/* link layer */                                                \
	X(ETH_TRUNCATED, "eth_truncated")                               \
	X(VLAN_TRUNCATED, "vlan_truncated")                             \
	X(VLAN_TOO_DEEP, "vlan_too_deep")                               \
	X(ETHERTYPE_UNSUPPORTED, "ethertype_unsupported")               \
	X(LINKTYPE_UNSUPPORTED, "linktype_unsupported")                 \
	X(PCAP_UNUSABLE, "pcap_unusable")  /* record not deliverable */ \
	X(NOT_FOR_US_L2, "not_for_us_l2")                               \
	/* ARP */                                                       \
	X(ARP_TRUNCATED, "arp_truncated")                               \
	X(ARP_BAD_FORMAT, "arp_bad_format")                             \
	X(ARP_NOT_FOR_US, "arp_not_for_us")                             \
	/* IPv4 */                                                      \
	X(IP4_TRUNCATED, "ip4_truncated")                               \
	X(IP4_BAD_VERSION, "ip4_bad_version")                           \
	X(IP4_BAD_IHL, "ip4_bad_ihl")                                   \
	X(IP4_BAD_TOTAL_LEN, "ip4_bad_total_len")                       \
	X(IP4_BAD_CHECKSUM, "ip4_bad_checksum")                         \
	X(IP4_BAD_OPTIONS, "ip4_bad_options")                           \
	X(IP4_BAD_SRC, "ip4_bad_src")                                   \
	X(IP4_TTL_EXPIRED, "ip4_ttl_expired")                           \
	/* IPv6 */                                                      \
	X(IP6_TRUNCATED, "ip6_truncated")                               \
	X(IP6_BAD_VERSION, "ip6_bad_version")                           \
	X(IP6_BAD_PAYLOAD_LEN, "ip6_bad_payload_len")                   \
	X(IP6_BAD_EXT_HDR, "ip6_bad_ext_hdr")                           \
	X(IP6_TOO_MANY_EXT_HDRS, "ip6_too_many_ext_hdrs")               \
	X(IP6_BAD_SRC, "ip6_bad_src")                                   \
	X(IP6_HOP_LIMIT_EXPIRED, "ip6_hop_limit_expired")               \
	/* fragments and reassembly */                                  \
	X(FRAG_BAD, "frag_bad")                                         \
	X(FRAG_OVERLAP, "frag_overlap")                                 \
	X(FRAG_TOO_BIG, "frag_too_big")                                 \
	X(FRAG_TABLE_FULL, "frag_table_full")                           \
	X(FRAG_TOO_MANY, "frag_too_many")                               \
	/* ICMP / ICMPv6 */                                             \
	X(ICMP_TRUNCATED, "icmp_truncated")                             \
	X(ICMP_BAD_CHECKSUM, "icmp_bad_checksum")                       \
	X(ICMP_UNHANDLED_TYPE, "icmp_unhandled_type")                   \
	X(ICMP6_TRUNCATED, "icmp6_truncated")                           \
	X(ICMP6_BAD_CHECKSUM, "icmp6_bad_checksum")                     \
	X(ICMP6_UNHANDLED_TYPE, "icmp6_unhandled_type")                 \
	X(NDP_BAD, "ndp_bad")                                           \
	X(NDP_NOT_FOR_US, "ndp_not_for_us")                             \
	X(ICMP_ERR_RATE_LIMITED, "icmp_err_rate_limited")               \
	/* TCP / UDP */                                                 \
	X(TCP_TRUNCATED, "tcp_truncated")                               \
	X(TCP_BAD_OFFSET, "tcp_bad_offset")                             \
	X(TCP_BAD_CHECKSUM, "tcp_bad_checksum")                         \
	X(UDP_TRUNCATED, "udp_truncated")                               \
	X(UDP_BAD_LEN, "udp_bad_len")                                   \
	X(UDP_BAD_CHECKSUM, "udp_bad_checksum")                         \
	X(L4_PROTO_UNSUPPORTED, "l4_proto_unsupported")                 \
	/* flows and policy */                                          \
	X(FLOW_TABLE_FULL, "flow_table_full")                           \
	X(POLICY_DROP, "policy_drop")                                   \
	X(NOT_FOR_US, "not_for_us")                                     \
	X(NO_STACK, "no_stack")                                         \
	/* forwarding and neighbours */                                 \
	X(NO_ROUTE, "no_route")                                         \
	X(NEIGH_UNRESOLVED, "neigh_unresolved")                         \
	X(NEIGH_QUEUE_FULL, "neigh_queue_full")                         \
	X(TOO_BIG, "too_big")                                           \
	/* resources and transmit */                                    \
	X(NO_MBUF, "no_mbuf")                                           \
	X(RING_FULL, "ring_full")                                       \
	X(TX_FULL, "tx_full")                                           \
	X(PKT_TOO_BIG, "pkt_too_big")

enum dp_drop_reason {
#define DP_DROP_ENUM(e, s) DP_DROP_##e,
	DP_DROP_REASONS(DP_DROP_ENUM)
#undef DP_DROP_ENUM
	DP_DROP_MAX
};

/* JSON name of a reason; "unknown" for an out-of-range value. */
const char *dp_drop_name(enum dp_drop_reason r);

#endif

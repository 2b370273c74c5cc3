/**
 * Packets ({@code kpi_mbuf.h}). A packet is an {@link org.kextnet.kpi.mbuf.Mbuf}: pooled off-heap memory with
 * headroom in front of the data, a packet header (length, receiving interface, checksum and cast flags) and
 * typed tags, possibly continued in further buffers ({@link org.kextnet.kpi.mbuf.Mbuf#next()}).
 *
 * <h2>Ownership</h2>
 * A packet has exactly one owner. The owner passes it on (a KPI call that "takes ownership"), keeps it (a
 * filter that returned {@link org.kextnet.kpi.Errno#EJUSTRETURN}), or frees it with
 * {@link org.kextnet.kpi.mbuf.Mbuf#free()}. Touching a packet after giving it away is a bug the kernel cannot
 * always detect; freeing it twice throws.
 *
 * <h2>Swallow and re-inject without seeing a packet twice</h2>
 * Find your tag id once at start ({@link org.kextnet.kpi.mbuf.MbufKpi#tagIdFind}). In the filter, if the
 * packet carries your tag, return 0 (you have seen it). Otherwise tag it, return
 * {@link org.kextnet.kpi.Errno#EJUSTRETURN}, queue it (the packet now belongs to you), and re-inject it later
 * from a {@link org.kextnet.kpi.Callouts callout}. Tag even the packets you pass, since another filter may
 * swallow and re-inject them. IP filters may instead pass their own reference to the inject call, which
 * resumes the chain after them.
 */
package org.kextnet.kpi.mbuf;

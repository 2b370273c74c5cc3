/**
 * IP filters ({@code kpi_ipfilter.h}): global hooks between IP and the transport protocols, called for every
 * packet on every interface.
 *
 * <ul>
 * <li><b>Input</b> runs after IP header checks and reassembly, before the packet is handed to its transport
 *   protocol, on the receiving interface's packet thread (or the thread that injected the packet).</li>
 * <li><b>Output</b> runs for locally generated and forwarded packets before fragmentation, on the sending
 *   thread (an application sending, a packet thread answering or forwarding, or the timer thread).</li>
 * <li>Filters run in chain order ({@link org.kextnet.kpi.Position}); each return value decides:
 * <table><caption>input and output results</caption>
 * <tr><td>0</td><td>continue with the next filter, then the stack</td></tr>
 * <tr><td>{@link org.kextnet.kpi.Errno#EJUSTRETURN}</td><td>stop; the filter now owns the packet (it may
 *   re-inject it later with {@link org.kextnet.kpi.ipfilter.IpFilterKpi#injectInput injectInput} or
 *   {@link org.kextnet.kpi.ipfilter.IpFilterKpi#injectOutput injectOutput})</td></tr>
 * <tr><td>any other errno</td><td>stop; the kernel frees the packet and counts it as filtered</td></tr>
 * </table></li>
 * <li><b>Re-injection</b> with the filter's own reference resumes after that filter: neither it nor any
 *   filter before it sees the packet again. With null, the whole chain runs again (do that if you modified
 *   the packet, so every filter sees the new one).</li>
 * </ul>
 */
package org.kextnet.kpi.ipfilter;

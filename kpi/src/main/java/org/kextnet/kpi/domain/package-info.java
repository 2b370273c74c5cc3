/**
 * Domains and protocols ({@code net_add_proto}, {@code net_del_proto}, {@code pffindproto}): an extension
 * adds a protocol to a domain, for example a new IP protocol number with its own socket type. IP hands the
 * protocol its packets after the IP filters, and applications in the JVM open sockets of it; the protocol
 * serves their requests.
 */
package org.kextnet.kpi.domain;

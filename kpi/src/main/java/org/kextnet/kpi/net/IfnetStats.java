package org.kextnet.kpi.net;

/** An interface's counters ({@code ifnet_stat}), per direction. */
public record IfnetStats(long packetsIn, long bytesIn, long errorsIn, long dropsIn,
                         long packetsOut, long bytesOut, long errorsOut, long dropsOut) {}

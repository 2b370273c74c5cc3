package org.kextnet.kernel.wire;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Big-endian, unaligned accessors: the wire's byte order, at any offset. Every header view reads through them. */
public final class Bytes {
    private Bytes() {}

    public static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;
    public static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    public static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    public static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
}

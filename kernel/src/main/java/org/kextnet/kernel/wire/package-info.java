/**
 * Header views: flyweights that read and write protocol headers in place in a {@link java.lang.foreign.MemorySegment}
 * at a given offset. No header is ever parsed into an object.
 *
 * <p>Each view is a final class of static accessors over {@code (segment, offset)}, with the field offsets
 * under the RFC diagram of the header. Accessors do not validate: the input path first checks lengths
 * (each view's {@code check} method returns a drop reason, never throws), then reads fields freely.
 * Out-of-range reads past the segment still fail safely with an exception, which the input path treats
 * as a malformed packet.
 */
package org.kextnet.kernel.wire;

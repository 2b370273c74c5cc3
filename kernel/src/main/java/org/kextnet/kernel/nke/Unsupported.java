package org.kextnet.kernel.nke;

import java.lang.reflect.Proxy;

import org.kextnet.kpi.Errno;
import org.kextnet.kpi.KpiException;

/**
 * A sub-KPI the kernel does not implement yet: every call fails with {@link Errno#EOPNOTSUPP} (as a
 * {@link KpiException} where the method declares one, else as the int result).
 */
public final class Unsupported {
    private Unsupported() {}

    public static <T> T of(Class<T> kpi, String what) {
        Object p = Proxy.newProxyInstance(kpi.getClassLoader(), new Class<?>[] {kpi}, (proxy, method, args) -> {
            switch (method.getName()) {
                case "toString": return "unsupported " + what;
                case "hashCode": return System.identityHashCode(proxy);
                case "equals": return proxy == args[0];
                default: break;
            }
            for (Class<?> ex : method.getExceptionTypes()) {
                if (ex == KpiException.class) throw new KpiException(Errno.EOPNOTSUPP, what + " is not available in this kernel yet");
            }
            if (method.getReturnType() == int.class) return Errno.EOPNOTSUPP;
            throw new UnsupportedOperationException(what + " is not available in this kernel yet");
        });
        return kpi.cast(p);
    }
}

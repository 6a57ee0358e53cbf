#include "argnum.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int
bh_arg_int(const char *prog, const char *flag, const char *v, long long min, long long max,
           long long *out)
{
    char *end;
    errno = 0;
    long long n = v ? strtoll(v, &end, 10) : 0;
    if (v == NULL || errno != 0 || end == v || *end != 0 || n < min || n > max) {
        fprintf(stderr, "%s: %s: expected an integer in %lld..%lld, got \"%s\"\n", prog, flag, min,
                max, v ? v : "");
        return -1;
    }
    *out = n;
    return 0;
}

/* Integer command-line values, for bilheteria-server and bilheteria-bench
 * alike (the bench compiles this file too; it depends on nothing). */
#ifndef BH_ARGNUM_H
#define BH_ARGNUM_H

/* Parses v (the value given to flag) as a decimal integer in min..max into
 * *out. On anything else -- NULL, empty, trailing characters, out of range
 * -- prints "PROG: FLAG: expected an integer in MIN..MAX, got "V"" to
 * stderr and returns -1, leaving *out alone. */
int bh_arg_int(const char *prog, const char *flag, const char *v, long long min, long long max,
               long long *out);

#endif

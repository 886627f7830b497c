/*
 * Default sanitizer options for the make sanitize tree, linked into every
 * binary there.  Reports go to files under SANITIZE_REPORTS instead of
 * stderr: the end-to-end tests start the responder with an empty
 * environment (env -i), so ASAN_OPTIONS cannot reach it, and they count
 * its stderr lines.  make sanitize fails when any report file appears.
 * An ASAN_OPTIONS or UBSAN_OPTIONS in the environment still wins.
 */
#ifndef SANITIZE_REPORTS
#error "define SANITIZE_REPORTS, the directory for report files"
#endif

const char *__asan_default_options(void);
const char *__ubsan_default_options(void);

const char *
__asan_default_options(void)
{
	return "log_path=" SANITIZE_REPORTS "/asan"
	       ":detect_leaks=1:strict_string_checks=1"
	       ":check_initialization_order=1:detect_invalid_pointer_pairs=1";
}

const char *
__ubsan_default_options(void)
{
	return "log_path=" SANITIZE_REPORTS "/ubsan"
	       ":print_stacktrace=1:halt_on_error=1";
}

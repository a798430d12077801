/*
 * One error list for all of Tessera.  Functions return 0 (TSS_OK) on success
 * or one of the negative codes below.  errno, LMDB, OpenSSL and liboath
 * results are translated where they are called, never passed upward raw.
 *
 * The second column is the stable snake_case name: the HTTP API uses it as
 * its "code" where the failure reaches a client.
 */
#ifndef TSS_ERR_H
#define TSS_ERR_H

#define TSS_ERRORS(X) \
	X(OK,                   0, "ok",                   "success") \
	X(INTERNAL,            -1, "internal",             "internal error") \
	X(NOMEM,               -2, "out_of_memory",        "out of memory") \
	X(INVALID_ARGUMENT,    -3, "invalid_argument",     "invalid argument") \
	X(TRUNCATED,           -4, "truncated",            "input truncated") \
	X(TOO_LONG,            -5, "too_long",             "length exceeds limit") \
	X(TRAILING_DATA,       -6, "trailing_data",        "unexpected trailing data") \
	X(EMBEDDED_NUL,        -7, "embedded_nul",         "string contains a NUL byte") \
	X(BAD_FORMAT,          -8, "bad_format",           "malformed input") \
	X(OVERFLOW,            -9, "overflow",             "numeric overflow") \
	X(NOT_FOUND,          -10, "not_found",            "not found") \
	X(CONFLICT,           -11, "conflict",             "already exists or in use") \
	X(IO,                 -12, "io_error",             "input/output error") \
	X(PERMISSION,         -13, "permission_denied",    "permission denied") \
	X(STORE,              -14, "store_error",          "store error") \
	X(STORE_FULL,         -15, "store_full",           "store is full") \
	X(SCHEMA_TOO_NEW,     -16, "schema_too_new",       "store schema is newer than this program") \
	X(NOT_A_STORE,        -17, "not_a_store",          "not a Tessera LMDB environment") \
	X(RECORD_VERSION,     -18, "record_version",       "record version not supported") \
	X(BUSY,               -19, "busy",                 "resource busy") \
	X(NOT_EMPTY,          -20, "not_empty",            "directory is not empty") \
	X(CONFIG,             -21, "config_error",         "configuration error") \
	X(DURATION,           -22, "invalid_duration",     "invalid duration") \
	X(BASE64,             -23, "invalid_base64",       "invalid base64") \
	X(BASE32,             -24, "invalid_base32",       "invalid base32") \
	X(CRYPTO,             -25, "crypto_error",         "cryptographic operation failed") \
	X(INVALID_PUBLIC_KEY, -26, "invalid_public_key",   "invalid public key") \
	X(WEAK_KEY,           -27, "weak_key",             "key too weak or of a refused type") \
	X(INVALID_PRINCIPAL,  -28, "invalid_principal",    "invalid principal") \
	X(TOO_MANY,           -29, "too_many",             "too many items") \
	X(INVALID_CIDR,       -30, "invalid_cidr",         "invalid address/prefix list") \
	X(KEY_PERMS,          -31, "insecure_key_file",    "private key file is readable by others") \
	X(INVALID_CREDENTIALS,-32, "invalid_credentials",  "invalid credentials") \
	X(TOO_MANY_ATTEMPTS,  -33, "too_many_attempts",    "too many attempts") \
	X(LOCKED,             -34, "locked",               "account locked") \
	X(NOT_ENROLLED,       -35, "not_enrolled",         "account not enrolled") \
	X(UNAVAILABLE,        -36, "unavailable",          "service unavailable") \
	X(EXPIRED,            -37, "expired",              "expired") \
	X(FORBIDDEN,          -38, "forbidden",            "forbidden") \
	X(UNAUTHENTICATED,    -39, "unauthenticated",      "authentication required") \
	X(WEAK_PASSWORD,      -40, "weak_password",        "password does not meet the rules") \
	X(DECRYPT,            -41, "decrypt_failed",       "decryption failed") \
	X(REPLAY,             -42, "replay",               "code already used") \
	X(VALIDATION,         -43, "bad_request",          "invalid field") \
	X(INVALID_JSON,       -44, "invalid_json",         "invalid JSON") \
	X(TOO_LARGE,          -45, "payload_too_large",    "payload too large") \
	X(DISABLED,           -46, "disabled",             "account disabled") \
	X(SIGNATURE,          -47, "bad_signature",        "signature verification failed") \
	X(UNSUPPORTED,        -48, "unsupported",          "unsupported") \
	X(NO_STORE,           -60, "no_store",             "no Tessera store here (no data.mdb: run tessera init, or mount the data directory)") \
	X(STORE_EMPTY,        -61, "store_empty",          "the store is empty (a zero-length data.mdb or an environment tessera init never set up)") \
	X(STORE_TRUNCATED,    -62, "store_truncated",      "the store file is shorter than its meta page says (truncated)") \
	X(CORRUPT,            -63, "store_corrupt",        "the store is corrupt") \
	X(KEY_MISMATCH,       -64, "key_mismatch",         "key is not the one the store was made with") \
	X(IN_USE,             -65, "in_use",               "the data directory is in use by a tesserad or tessera command in another PID namespace (another container?)")

enum tss_err {
#define TSS_ERR_ENUM(sym, val, name, msg) TSS_E_##sym = (val),
	TSS_ERRORS(TSS_ERR_ENUM)
#undef TSS_ERR_ENUM
};

#define TSS_OK TSS_E_OK

/* Human-readable message; never NULL, "unknown error" for foreign values. */
const char *tss_strerror(int r);
/* Stable snake_case name ("store_full"); never NULL. */
const char *tss_errname(int r);

#endif

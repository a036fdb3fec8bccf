/*
 * The C ABI's test: a store created from tests/data/register.csv, then
 * open, get, check, claim, retry, reverse, batch, report, many threads,
 * reopen, and every error path a C caller can take with defined
 * behaviour. Run by .ci/bindings.sh under valgrind memcheck.
 *
 *   c_api STORE_PARENT_DIR REGISTER_CSV
 *
 * Prints one line per failed expectation and "N passed, N failed" at the
 * end; exits 1 when any failed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tepat.h"

static int passed, failed;

#define EXPECT(cond)                                                              \
    do {                                                                          \
        if (cond) {                                                               \
            passed++;                                                             \
        } else {                                                                  \
            failed++;                                                             \
            fprintf(stderr, "%s:%d: expected %s (last error %d: %s)\n", __FILE__, \
                    __LINE__, #cond, (int)tepat_last_error_code(),               \
                    tepat_last_error_message());                                  \
        }                                                                         \
    } while (0)

/* A status, and the thread's last error agrees with it. */
#define EXPECT_STATUS(call, status)                                 \
    do {                                                            \
        tepat_status got_ = (call);                                 \
        EXPECT(got_ == (status));                                   \
        if (got_ != (status))                                       \
            fprintf(stderr, "  got %s\n", tepat_status_name(got_)); \
        EXPECT(tepat_last_error_code() == got_);                    \
        EXPECT((got_ == TEPAT_OK) == (tepat_last_error_length() == 0)); \
    } while (0)

#define S(lit) lit, strlen(lit)
#define STR(lit) ((tepat_str){lit, sizeof(lit) - 1})
#define BIT(r) (1u << (r))

static const char *TODAY = "2026-11-15";
static const char *WIFE = "3201015708900001";
static const char *HUSBAND = "3201011503850001";
static const char *DECEASED = "3201012006600003";
static const char *PAPUA = "9103014506800001";

static tepat_open_options options(void) {
    tepat_open_options o;
    memset(&o, 0, sizeof o);
    o.today = TODAY;
    o.today_len = strlen(TODAY);
    return o;
}

static uint32_t program_index(const tepat_store *store, const char *code) {
    uint32_t n = tepat_program_count(store);
    for (uint32_t i = 0; i < n; i++) {
        tepat_str c;
        if (tepat_program_code(store, i, &c) == TEPAT_OK && c.len == strlen(code) &&
            memcmp(c.ptr, code, c.len) == 0)
            return i;
    }
    return 99;
}

static void test_names(void) {
    EXPECT(tepat_abi_version() == TEPAT_ABI_VERSION);
    EXPECT(strlen(tepat_version()) > 0);
    EXPECT(strcmp(tepat_status_name(TEPAT_E_PERIOD), "TEPAT_E_PERIOD") == 0);
    EXPECT(strcmp(tepat_status_name(0), "TEPAT_OK") == 0);
    EXPECT(tepat_status_name(7) == NULL);
    EXPECT(tepat_status_name(-1) == NULL);
    static const char *codes[TEPAT_REASON_COUNT] = {
        "invalid_nik",   "unknown_nik",     "deceased",          "duplicate_identity",
        "not_enrolled",  "not_eligible",    "civil_servant",     "excluded_by",
        "already_claimed", "wrong_period_kind", "repeated_in_list", "invalid_row",
        "period_not_open", "wrong_amount", "claimed_elsewhere", "ledger_unreachable"};
    for (uint32_t r = 0; r < TEPAT_REASON_COUNT; r++)
        EXPECT(strcmp(tepat_reason_code(r), codes[r]) == 0);
    EXPECT(tepat_reason_code(TEPAT_REASON_COUNT) == NULL);
    EXPECT(strcmp(tepat_reason_code(TEPAT_REASON_PERIOD_NOT_OPEN), "period_not_open") == 0);
}

static tepat_store *test_create(const char *dir, const char *reg) {
    tepat_open_options o = options();
    tepat_store *store = (tepat_store *)1;
    tepat_ingest ingest;
    memset(&ingest, 0, sizeof ingest);
    EXPECT_STATUS(tepat_create(S(dir), S(reg), S("2026-11-01"), &o, &store, &ingest), TEPAT_OK);
    EXPECT(store != NULL);
    EXPECT(ingest.rows == 7 && ingest.accepted == 7 && ingest.rejected == 0);
    EXPECT(tepat_program_count(store) == 8);
    tepat_str code;
    EXPECT_STATUS(tepat_program_code(store, 0, &code), TEPAT_OK);
    EXPECT(code.len == 3 && strcmp(code.ptr, "PKH") == 0);
    EXPECT_STATUS(tepat_program_code(store, 8, &code), TEPAT_E_ARGUMENT);
    /* A second creation in the same directory: it holds a store. */
    tepat_store *again = (tepat_store *)1;
    EXPECT_STATUS(tepat_create(S(dir), S(reg), NULL, 0, &o, &again, NULL), TEPAT_E_STORE);
    EXPECT(again == NULL);
    return store;
}

static void test_get(const tepat_store *store) {
    tepat_person p;
    EXPECT_STATUS(tepat_get(store, S(WIFE), &p), TEPAT_OK);
    EXPECT(p.found && !p.pending);
    EXPECT(strcmp(p.nik, WIFE) == 0 && p.nik_value == 3201015708900001ULL);
    EXPECT(strcmp(p.kk, "3201011503150007") == 0 && p.kk_value == 3201011503150007ULL);
    EXPECT(strcmp(p.relation, "spouse") == 0);
    EXPECT(strcmp(p.village_code, "3201011001") == 0);
    EXPECT(strcmp(p.village, "Pondok Rajeg") == 0);
    EXPECT(p.sex == 'F' && strcmp(p.birth_date, "1990-08-17") == 0 && p.decile == 2);
    EXPECT(!p.deceased && !p.civil_servant && !p.duplicate);
    EXPECT(strcmp(p.components, "pregnant") == 0);
    uint32_t pkh = program_index(store, "PKH"), pbi = program_index(store, "PBI_JK");
    EXPECT(p.enrolled & BIT(pkh));
    EXPECT(p.enrolled & BIT(pbi));
    EXPECT(p.eligible & BIT(pkh));

    /* Papua's NIKs exceed 2^53. */
    EXPECT_STATUS(tepat_get(store, S(PAPUA), &p), TEPAT_OK);
    EXPECT(p.found && p.nik_value > (1ULL << 53) && strcmp(p.nik, PAPUA) == 0);
    EXPECT(strcmp(p.village, "Sentani Kota") == 0);

    /* Valid but not in the register: found false, no error. */
    memset(&p, 0x55, sizeof p);
    EXPECT_STATUS(tepat_get(store, S("3201015708900009"), &p), TEPAT_OK);
    EXPECT(!p.found && p.nik[0] == 0 && p.nik_value == 0);

    /* Not a NIK: an error, with the rule it breaks. */
    EXPECT_STATUS(tepat_get(store, S("3201015708900000"), &p), TEPAT_E_NIK);
    EXPECT(strstr(tepat_last_error_message(), "serial") != NULL);
    EXPECT_STATUS(tepat_get(store, S("32010157"), &p), TEPAT_E_NIK);
    EXPECT(strstr(tepat_last_error_message(), "16 digits") != NULL);
    EXPECT_STATUS(tepat_get(store, "\xff\xfe", 2, &p), TEPAT_E_UTF8);
    EXPECT_STATUS(tepat_get(store, NULL, 16, &p), TEPAT_E_NULL);
    EXPECT_STATUS(tepat_get(store, S(WIFE), NULL), TEPAT_E_NULL);
}

static void test_check(const tepat_store *store) {
    tepat_verdict v;
    EXPECT_STATUS(tepat_check(store, S(WIFE), S("PKH"), S("2026-Q4"), &v), TEPAT_OK);
    EXPECT(v.payable && v.reasons == 0 && v.blocking == 0 && !v.claimed);

    EXPECT_STATUS(tepat_check(store, S(DECEASED), S("PBI_JK"), S("2026-11"), &v), TEPAT_OK);
    EXPECT(!v.payable && (v.reasons & BIT(TEPAT_REASON_DECEASED)));
    EXPECT(v.blocking & BIT(TEPAT_REASON_DECEASED));

    EXPECT_STATUS(tepat_check(store, S("3201011207750005"), S("PBI_JK"), S("2026-11"), &v),
                  TEPAT_OK);
    EXPECT(!v.payable && (v.reasons & BIT(TEPAT_REASON_CIVIL_SERVANT)));
    /* not_eligible only warns: in reasons, not in blocking. */
    EXPECT((v.reasons & BIT(TEPAT_REASON_NOT_ELIGIBLE)) &&
           !(v.blocking & BIT(TEPAT_REASON_NOT_ELIGIBLE)));

    EXPECT_STATUS(tepat_check(store, S("3201012508950007"), S("PBI_JK"), S("2026-11"), &v),
                  TEPAT_OK);
    EXPECT(!v.payable && (v.reasons & BIT(TEPAT_REASON_NOT_ENROLLED)));

    EXPECT_STATUS(tepat_check(store, S(PAPUA), S("PBI_JK"), S("2026-11"), &v), TEPAT_OK);
    EXPECT(v.payable);

    /* An invalid or unknown NIK is a verdict, not an error. */
    EXPECT_STATUS(tepat_check(store, S("12345"), S("PKH"), S("2026-Q4"), &v), TEPAT_OK);
    EXPECT(!v.payable && v.reasons == BIT(TEPAT_REASON_INVALID_NIK));
    EXPECT_STATUS(tepat_check(store, S("3201015708900009"), S("PKH"), S("2026-Q4"), &v),
                  TEPAT_OK);
    EXPECT(!v.payable && v.reasons == BIT(TEPAT_REASON_UNKNOWN_NIK));

    /* Periods: the wrong kind and a closed period are verdicts too. */
    EXPECT_STATUS(tepat_check(store, S(WIFE), S("PKH"), S("2026-11"), &v), TEPAT_OK);
    EXPECT(!v.payable && (v.reasons & BIT(TEPAT_REASON_WRONG_PERIOD_KIND)));
    EXPECT_STATUS(tepat_check(store, S(WIFE), S("PKH"), S("2026-Q1"), &v), TEPAT_OK);
    EXPECT(!v.payable && (v.reasons & BIT(TEPAT_REASON_PERIOD_NOT_OPEN)));

    /* An unknown program and a period that does not parse are errors. */
    EXPECT_STATUS(tepat_check(store, S(WIFE), S("NOPE"), S("2026-Q4"), &v), TEPAT_E_PROGRAM);
    EXPECT(strstr(tepat_last_error_message(), "NOPE") != NULL);
    EXPECT_STATUS(tepat_check(store, S(WIFE), S("PKH"), S("2026-Q5"), &v), TEPAT_E_PERIOD);
    EXPECT(strstr(tepat_last_error_message(), "2026-Q5") != NULL);
    /* The last error is the last call's: a success clears it. */
    EXPECT_STATUS(tepat_check(store, S(WIFE), S("PKH"), S("2026-Q4"), &v), TEPAT_OK);
    EXPECT(tepat_last_error_message()[0] == 0);

    /* Strings are pointer + length: no NUL needed, and a NUL inside counts. */
    const char buffer[] = "PKHSEMBAKO";
    EXPECT_STATUS(tepat_check(store, S(WIFE), buffer, 3, S("2026-Q4"), &v), TEPAT_OK);
    EXPECT_STATUS(tepat_check(store, S(WIFE), "PKH\0", 4, S("2026-Q4"), &v), TEPAT_E_PROGRAM);

    /* Bad handle use that is defined: NULL handle, NULL out. */
    EXPECT_STATUS(tepat_check(NULL, S(WIFE), S("PKH"), S("2026-Q4"), &v), TEPAT_E_NULL);
    EXPECT(strstr(tepat_last_error_message(), "store handle") != NULL);
    EXPECT_STATUS(tepat_check(store, S(WIFE), S("PKH"), S("2026-Q4"), NULL), TEPAT_E_NULL);
    EXPECT_STATUS(tepat_check(store, NULL, 0, S("PKH"), S("2026-Q4"), &v), TEPAT_OK);
    EXPECT(v.reasons == BIT(TEPAT_REASON_INVALID_NIK));
    EXPECT(tepat_program_count(NULL) == 0);
}

static tepat_claim_request claim_of(const char *id, const char *nik, const char *program,
                                    const char *period) {
    tepat_claim_request r;
    memset(&r, 0, sizeof r);
    r.request_id = (tepat_str){id, strlen(id)};
    r.nik = (tepat_str){nik, strlen(nik)};
    r.program = (tepat_str){program, strlen(program)};
    r.period = (tepat_str){period, strlen(period)};
    r.operator_id = STR("counter 7");
    r.meta = STR("post office 40111");
    r.has_amount = true;
    r.amount = 1500000;
    return r;
}

static void test_claims(const tepat_store *store) {
    tepat_claim_outcome o;
    tepat_claim_request wife = claim_of("POS-40111-000123", WIFE, "PKH", "2026-Q4");
    EXPECT_STATUS(tepat_claim(store, &wife, &o), TEPAT_OK);
    EXPECT(o.paid && !o.replayed && !o.reversed && o.verdict.payable);
    /* PKH's entitlement: her pregnancy and the child under seven. */
    EXPECT(o.has_amount && o.amount == 1500000 && o.has_entitled && o.entitled == 1500000);

    /* The counter's retry gets the first outcome. */
    EXPECT_STATUS(tepat_claim(store, &wife, &o), TEPAT_OK);
    EXPECT(o.paid && o.replayed && !o.reversed);

    /* The same request id with other content is refused. */
    tepat_claim_request other = wife;
    other.amount = 1;
    EXPECT_STATUS(tepat_claim(store, &other, &o), TEPAT_E_REQUEST_CONFLICT);
    EXPECT(strstr(tepat_last_error_message(), "POS-40111-000123") != NULL);

    /* PKH is paid per family: the husband is refused, naming the claim. */
    tepat_claim_request husband = claim_of("POS-40111-000124", HUSBAND, "PKH", "2026-Q4");
    EXPECT_STATUS(tepat_claim(store, &husband, &o), TEPAT_OK);
    EXPECT(!o.paid && (o.verdict.reasons & BIT(TEPAT_REASON_ALREADY_CLAIMED)));
    EXPECT(o.verdict.claimed && strcmp(o.verdict.claimed_request_id, "POS-40111-000123") == 0);
    EXPECT(strcmp(o.verdict.claimed_nik, WIFE) == 0);
    EXPECT(strcmp(o.verdict.claimed_kk, "3201011503150007") == 0);
    EXPECT(o.verdict.claimed_at_ms > 0);
    tepat_verdict v;
    EXPECT_STATUS(tepat_check(store, S(HUSBAND), S("PKH"), S("2026-Q4"), &v), TEPAT_OK);
    EXPECT(!v.payable && v.claimed);

    /* Requests that cannot be carried out. */
    tepat_claim_request bad = claim_of("", WIFE, "PKH", "2026-Q4");
    EXPECT_STATUS(tepat_claim(store, &bad, &o), TEPAT_E_REQUEST);
    bad = claim_of("POS-X", WIFE, "NOPE", "2026-Q4");
    EXPECT_STATUS(tepat_claim(store, &bad, &o), TEPAT_E_PROGRAM);
    bad = claim_of("POS-Y", WIFE, "PKH", "Q4-2026");
    EXPECT_STATUS(tepat_claim(store, &bad, &o), TEPAT_E_PERIOD);
    bad = claim_of("POS-Z", "not a nik", "PKH", "2026-Q4");
    EXPECT_STATUS(tepat_claim(store, &bad, &o), TEPAT_OK);
    EXPECT(!o.paid && (o.verdict.reasons & BIT(TEPAT_REASON_INVALID_NIK)));
    bad.nik = (tepat_str){NULL, 3};
    bad.request_id = STR("POS-W");
    EXPECT_STATUS(tepat_claim(store, &bad, &o), TEPAT_E_NULL);
    EXPECT_STATUS(tepat_claim(store, NULL, &o), TEPAT_E_NULL);

    /* Reversal: the family becomes payable again. */
    tepat_reverse_outcome r;
    EXPECT_STATUS(tepat_reverse(store, S("POS-40111-000125"), S("POS-40111-000123"),
                                S("account closed"), &r),
                  TEPAT_OK);
    EXPECT(!r.replayed);
    EXPECT_STATUS(tepat_reverse(store, S("POS-40111-000125"), S("POS-40111-000123"),
                                S("account closed"), &r),
                  TEPAT_OK);
    EXPECT(r.replayed);
    EXPECT_STATUS(tepat_reverse(store, S("POS-40111-000125"), S("POS-40111-000123"),
                                S("another reason"), NULL),
                  TEPAT_E_REQUEST_CONFLICT);
    EXPECT_STATUS(tepat_reverse(store, S("POS-40111-000126"), S("POS-40111-000123"),
                                S("again"), NULL),
                  TEPAT_E_REQUEST);
    EXPECT(strstr(tepat_last_error_message(), "already reversed") != NULL);
    EXPECT_STATUS(tepat_reverse(store, S("POS-40111-000127"), S("NO-SUCH-REQUEST"), S("x"), NULL),
                  TEPAT_E_REQUEST);
    EXPECT_STATUS(tepat_reverse(store, S("POS-40111-000128"), S("POS-40111-000124"), S("x"), NULL),
                  TEPAT_E_REQUEST);
    EXPECT(strstr(tepat_last_error_message(), "did not pay") != NULL);

    /* A retry of the reversed claim says so: do not pay it out again. */
    EXPECT_STATUS(tepat_claim(store, &wife, &o), TEPAT_OK);
    EXPECT(o.paid && o.replayed && o.reversed);
    EXPECT(strcmp(o.reversed_by, "POS-40111-000125") == 0);
    EXPECT_STATUS(tepat_check(store, S(HUSBAND), S("PKH"), S("2026-Q4"), &v), TEPAT_OK);
    EXPECT(v.payable);
    husband.request_id = STR("POS-40111-000129");
    EXPECT_STATUS(tepat_claim(store, &husband, &o), TEPAT_OK);
    EXPECT(o.paid);
}

static void test_batch(const tepat_store *store) {
    enum { N = 6 };
    tepat_str niks[N] = {STR("3201012508950007"), STR("9103014506800001"),
                         STR("3201012006600003"), STR("12345"),
                         STR("9103014506800001"), STR("9103014506800001")};
    tepat_str programs[N] = {STR("PBI_JK"), STR("PBI_JK"), STR("PBI_JK"),
                             STR("PBI_JK"), STR("NOPE"),   STR("PBI_JK")};
    tepat_str periods[N] = {STR("2026-11"), STR("2026-11"), STR("2026-11"),
                            STR("2026-11"), STR("2026-11"), STR("2026-13")};
    tepat_batch_verdict out[N];
    EXPECT_STATUS(tepat_verify_batch(store, niks, programs, periods, N, 0, out), TEPAT_OK);
    EXPECT(!out[0].payable && (out[0].reasons & BIT(TEPAT_REASON_NOT_ENROLLED)));
    EXPECT(out[1].payable && out[1].reasons == 0);
    EXPECT(!out[2].payable && (out[2].reasons & BIT(TEPAT_REASON_DECEASED)));
    EXPECT(!out[3].payable && out[3].reasons == BIT(TEPAT_REASON_INVALID_NIK));
    EXPECT(!out[4].payable && out[4].reasons == BIT(TEPAT_REASON_INVALID_ROW));
    EXPECT(!out[5].payable && out[5].reasons == BIT(TEPAT_REASON_INVALID_ROW));
    EXPECT_STATUS(tepat_verify_batch(store, NULL, NULL, NULL, 0, 1, NULL), TEPAT_OK);
    EXPECT_STATUS(tepat_verify_batch(store, niks, programs, NULL, N, 1, out), TEPAT_E_NULL);
}

static void test_report(const tepat_store *store) {
    tepat_report *r = NULL;
    EXPECT_STATUS(tepat_report_create(store, S("overlap"), S("province"), 1, &r), TEPAT_OK);
    EXPECT(r != NULL);
    size_t cols = tepat_report_columns(r), rows = tepat_report_rows(r);
    EXPECT(cols == 6 && rows > 0);
    tepat_str t;
    EXPECT_STATUS(tepat_report_column(r, 0, &t), TEPAT_OK);
    EXPECT(strcmp(t.ptr, "region_code") == 0);
    EXPECT_STATUS(tepat_report_column(r, 4, &t), TEPAT_OK);
    EXPECT(strcmp(t.ptr, "persons") == 0);
    EXPECT_STATUS(tepat_report_cell(r, 0, 0, &t), TEPAT_OK);
    EXPECT(strcmp(t.ptr, "00") == 0 && t.len == 2);
    EXPECT_STATUS(tepat_report_cell(r, 0, 1, &t), TEPAT_OK);
    EXPECT(strcmp(t.ptr, "Indonesia") == 0);
    /* PKH with SEMBAKO nationally: the family of three. */
    int found = 0;
    for (size_t i = 0; i < rows; i++) {
        tepat_str code, a, b, persons, families;
        tepat_report_cell(r, i, 0, &code);
        tepat_report_cell(r, i, 2, &a);
        tepat_report_cell(r, i, 3, &b);
        tepat_report_cell(r, i, 4, &persons);
        tepat_report_cell(r, i, 5, &families);
        if (strcmp(code.ptr, "00") == 0 && strcmp(a.ptr, "PKH") == 0 &&
            strcmp(b.ptr, "SEMBAKO") == 0) {
            found = 1;
            EXPECT(strcmp(persons.ptr, "3") == 0 && strcmp(families.ptr, "1") == 0);
        }
    }
    EXPECT(found);
    EXPECT_STATUS(tepat_report_cell(r, rows, 0, &t), TEPAT_E_ARGUMENT);
    EXPECT_STATUS(tepat_report_cell(r, 0, cols, &t), TEPAT_E_ARGUMENT);
    EXPECT_STATUS(tepat_report_column(r, cols, &t), TEPAT_E_ARGUMENT);
    tepat_report_free(r);

    EXPECT_STATUS(tepat_report_create(store, S("deceased"), NULL, 0, 0, &r), TEPAT_OK);
    EXPECT(tepat_report_columns(r) == 4);
    tepat_report_free(r);
    r = (tepat_report *)1;
    EXPECT_STATUS(tepat_report_create(store, S("everything"), NULL, 0, 0, &r), TEPAT_E_ARGUMENT);
    EXPECT(r == NULL);
    EXPECT_STATUS(tepat_report_create(store, S("overlap"), S("village"), 0, &r), TEPAT_E_ARGUMENT);
    EXPECT(tepat_report_rows(NULL) == 0 && tepat_report_columns(NULL) == 0);
    tepat_report_free(NULL);
}

/* Many threads on one handle: checks, claims of their own, and each its
 * own last error. */
struct worker {
    const tepat_store *store;
    int id;
    int ok;
};

static void *work(void *arg) {
    struct worker *w = arg;
    w->ok = 1;
    char id[32];
    for (int i = 0; i < 200; i++) {
        tepat_verdict v;
        if (tepat_check(w->store, S(PAPUA), S("PBI_JK"), S("2026-10"), &v) != TEPAT_OK)
            w->ok = 0;
        if (tepat_check(w->store, S(WIFE), S("PKH"), S("bad"), &v) != TEPAT_E_PERIOD ||
            strstr(tepat_last_error_message(), "bad") == NULL)
            w->ok = 0;
    }
    /* Each thread pays another month; exactly one of the racing repeats pays. */
    snprintf(id, sizeof id, "THREAD-%d", w->id);
    tepat_claim_request r = claim_of(id, PAPUA, "PBI_JK", "2026-10");
    r.has_amount = false; /* recorded at PBI-JK's entitlement */
    tepat_claim_outcome o;
    memset(&o, 0, sizeof o);
    if (tepat_claim(w->store, &r, &o) != TEPAT_OK)
        w->ok = 0;
    w->ok = w->ok ? (o.paid ? 2 : 1) : 0;
    return NULL;
}

static void test_threads(const tepat_store *store) {
    enum { T = 4 };
    pthread_t threads[T];
    struct worker workers[T];
    for (int i = 0; i < T; i++) {
        workers[i] = (struct worker){store, i, 0};
        EXPECT(pthread_create(&threads[i], NULL, work, &workers[i]) == 0);
    }
    int paid = 0;
    for (int i = 0; i < T; i++) {
        pthread_join(threads[i], NULL);
        EXPECT(workers[i].ok > 0);
        paid += workers[i].ok == 2;
    }
    EXPECT(paid == 1);
    /* This thread's last error is its own. */
    tepat_verdict v;
    EXPECT_STATUS(tepat_check(store, S(WIFE), S("PKH"), S("2026-Q4"), &v), TEPAT_OK);
}

static void test_open_errors(const char *parent, const char *dir, const char *reg) {
    char path[4096];
    tepat_store *s = (tepat_store *)1;
    snprintf(path, sizeof path, "%s/missing", parent);
    EXPECT_STATUS(tepat_open(S(path), NULL, &s), TEPAT_E_NO_STORE);
    EXPECT(s == NULL);
    /* Open twice: the first handle holds the store's lock. */
    s = (tepat_store *)1;
    EXPECT(tepat_open(S(dir), NULL, &s) != TEPAT_OK);
    EXPECT(s == NULL);
    EXPECT(tepat_last_error_length() > 0);
    tepat_open_options o = options();
    /* The test store is plain: an identity key is refused, and bytes that
     * are no key at all are an argument error. */
    uint8_t key[16] = {1};
    o.key = key;
    o.key_len = sizeof key;
    EXPECT_STATUS(tepat_open(S(dir), &o, &s), TEPAT_E_KEY);
    EXPECT(strstr(tepat_last_error_message(), "not keyed") != NULL);
    o.key_len = 15;
    EXPECT_STATUS(tepat_open(S(dir), &o, &s), TEPAT_E_ARGUMENT);
    /* The test store is unsigned: a point that trusts the keeper (RFC 8032's
     * first test key) refuses it; 31 bytes are no key at all. */
    static const uint8_t keeper[32] = {
        0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe,
        0xd3, 0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6,
        0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a};
    o = options();
    o.trusted_keys = keeper;
    o.trusted_keys_len = sizeof keeper;
    EXPECT_STATUS(tepat_open(S(dir), &o, &s), TEPAT_E_FORMAT);
    EXPECT(strstr(tepat_last_error_message(), "unsigned") != NULL);
    o.trusted_keys_len = 31;
    EXPECT_STATUS(tepat_open(S(dir), &o, &s), TEPAT_E_ARGUMENT);
    o = options();
    o.today = "2026-02-30";
    o.today_len = 10;
    EXPECT_STATUS(tepat_open(S(dir), &o, &s), TEPAT_E_DATE);
    EXPECT_STATUS(tepat_open(S(dir), NULL, NULL), TEPAT_E_NULL);
    EXPECT_STATUS(tepat_open(NULL, 4, NULL, &s), TEPAT_E_NULL);
    EXPECT_STATUS(tepat_open("\xc3", 1, NULL, &s), TEPAT_E_UTF8);
    /* Creating from a register that is not there, or is not a register. */
    snprintf(path, sizeof path, "%s/other", parent);
    char missing[4096];
    snprintf(missing, sizeof missing, "%s/no-such.csv", parent);
    EXPECT_STATUS(tepat_create(S(path), S(missing), NULL, 0, NULL, &s, NULL), TEPAT_E_IO);
    EXPECT_STATUS(tepat_create(S(path), S(reg), S("2026-13-01"), NULL, &s, NULL), TEPAT_E_DATE);
    EXPECT(s == NULL);
    tepat_close(NULL);
}

/* A keyed payout point's store: made with its identity key, it answers
 * for a NIK as the plain store does and opens only with its own key (16
 * bytes, or the key file's text). */
static void test_keyed(const char *parent, const char *reg) {
    char path[4096];
    snprintf(path, sizeof path, "%s/keyed", parent);
    static const char *file_text = "tepat-identity-key:000102030405060708090a0b0c0d0e0f\n";
    uint8_t key[16];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    tepat_open_options o = options();
    o.key = key;
    o.key_len = sizeof key;
    tepat_store *s = NULL;
    EXPECT_STATUS(tepat_create(S(path), S(reg), S("2026-11-01"), &o, &s, NULL), TEPAT_OK);
    if (s == NULL)
        return;
    tepat_verdict v;
    EXPECT_STATUS(tepat_check(s, S(WIFE), S("PKH"), S("2026-Q4"), &v), TEPAT_OK);
    EXPECT((v.reasons & (1u << TEPAT_REASON_UNKNOWN_NIK)) == 0);
    tepat_person p;
    EXPECT_STATUS(tepat_get(s, S(WIFE), &p), TEPAT_OK);
    EXPECT(p.found && strcmp(p.nik, WIFE) == 0);
    tepat_close(s);
    s = (tepat_store *)1;
    EXPECT_STATUS(tepat_open(S(path), NULL, &s), TEPAT_E_KEY);
    EXPECT(s == NULL);
    EXPECT(strstr(tepat_last_error_message(), "identity key") != NULL);
    key[0] = 9;
    EXPECT_STATUS(tepat_open(S(path), &o, &s), TEPAT_E_KEY);
    EXPECT(strstr(tepat_last_error_message(), "not this store's") != NULL);
    o.key = (const uint8_t *)file_text;
    o.key_len = strlen(file_text);
    s = NULL;
    EXPECT_STATUS(tepat_open(S(path), &o, &s), TEPAT_OK);
    EXPECT_STATUS(tepat_check(s, S(WIFE), S("PKH"), S("2026-Q4"), &v), TEPAT_OK);
    EXPECT((v.reasons & (1u << TEPAT_REASON_UNKNOWN_NIK)) == 0);
    tepat_close(s);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s PARENT_DIR REGISTER_CSV\n", argv[0]);
        return 2;
    }
    const char *parent = argv[1], *reg = argv[2];
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/store", parent);

    test_names();
    tepat_store *store = test_create(dir, reg);
    if (store == NULL) {
        fprintf(stderr, "cannot create the store: %s\n", tepat_last_error_message());
        return 1;
    }
    tepat_close(store);

    tepat_open_options o = options();
    store = NULL;
    EXPECT_STATUS(tepat_open(S(dir), &o, &store), TEPAT_OK);
    if (store == NULL)
        return 1;
    test_get(store);
    test_check(store);
    test_claims(store);
    test_batch(store);
    test_report(store);
    test_threads(store);
    test_open_errors(parent, dir, reg);
    test_keyed(parent, reg);
    tepat_close(store);

    /* After a restart the retry is still a retry: claims are durable. */
    store = NULL;
    EXPECT_STATUS(tepat_open(S(dir), &o, &store), TEPAT_OK);
    tepat_claim_request wife = claim_of("POS-40111-000123", WIFE, "PKH", "2026-Q4");
    tepat_claim_outcome out;
    EXPECT_STATUS(tepat_claim(store, &wife, &out), TEPAT_OK);
    EXPECT(out.replayed && out.paid && out.reversed);
    tepat_close(store);

    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

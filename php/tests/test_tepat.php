<?php
/*
 * PHP through the C ABI: creates a store from the bindings' test register,
 * checks, claims, retries, reverses, and takes the error paths.
 *
 *   TEPAT_LIB=.../libtepat_ffi.so php php/tests/test_tepat.php SCRATCH_DIR
 *
 * Prints "N passed, N failed"; exits 1 when any failed.
 */

declare(strict_types=1);

require __DIR__ . '/../Tepat.php';

$passed = 0;
$failed = 0;

function expect(bool $cond, string $what): void
{
    global $passed, $failed;
    if ($cond) {
        $passed++;
    } else {
        $failed++;
        fwrite(STDERR, "failed: $what\n");
    }
}

/** The status code a call fails with (0 when it does not). */
function code_of(callable $f): int
{
    try {
        $f();
        return 0;
    } catch (Tepat\Error $e) {
        return $e->getCode();
    }
}

if ($argc !== 2) {
    fwrite(STDERR, "usage: php test_tepat.php SCRATCH_DIR\n");
    exit(2);
}
$dir = $argv[1] . '/php-store';
$register = __DIR__ . '/../../ffi/tests/data/register.csv';
$today = ['today' => '2026-11-15'];
$wife = '3201015708900001';
$husband = '3201011503850001';

$store = Tepat\Store::create($dir, $register, '2026-11-01', $today, $ingest);
expect($ingest === ['rows' => 7, 'accepted' => 7, 'rejected' => 0], 'create reads 7 rows');
$store->close();

$store = Tepat\Store::open($dir, $today);
$p = $store->get($wife);
expect($p['found'] && $p['kk'] === '3201011503150007' && $p['village'] === 'Pondok Rajeg', 'get');
expect(in_array('PKH', $p['enrolled'], true) && $p['sex'] === 'F', 'get: enrolled, sex');
expect($store->get('9103014506800001')['nik'] === '9103014506800001', 'a NIK above 2^53 stays a string');
expect($store->get('3201015708900009') === ['nik' => '3201015708900009', 'found' => false], 'not in the register');

$v = $store->check($wife, 'PKH', '2026-Q4');
expect($v['payable'] && $v['reasons'] === [], 'check: payable');
$v = $store->check('3201012006600003', 'PBI_JK', '2026-11');
expect(!$v['payable'] && in_array('deceased', $v['reasons'], true), 'check: deceased');
$v = $store->check('3201011207750005', 'PBI_JK', '2026-11');
expect($v['reasons'] === ['not_eligible', 'civil_servant'] && $v['blocking'] === ['civil_servant'], 'check: warns and blocks');
expect($store->check('12345', 'PKH', '2026-Q4')['reasons'] === ['invalid_nik'], 'check: invalid NIK');

$claim = $store->claim('POS-40111-000123', $wife, 'PKH', '2026-Q4', 1500000, 'counter 7', 'post office 40111');
expect($claim['paid'] && !$claim['replayed'], 'claim: paid');
expect($claim['amount'] === 1500000 && $claim['entitled'] === 1500000, 'claim: the amount is the entitlement');
$retry = $store->claim('POS-40111-000123', $wife, 'PKH', '2026-Q4', 1500000, 'counter 7', 'post office 40111');
expect($retry['paid'] && $retry['replayed'], 'claim: the retry is replayed');
$h = $store->claim('POS-40111-000124', $husband, 'PKH', '2026-Q4');
expect(!$h['paid'] && in_array('already_claimed', $h['verdict']['reasons'], true), 'claim: the family is paid');
expect($h['verdict']['claimed']['request_id'] === 'POS-40111-000123', 'claim: names the earlier claim');
expect(!$store->check($husband, 'PKH', '2026-Q4')['payable'], 'check after the claim');

expect($store->reverse('POS-40111-000125', 'POS-40111-000123', 'account closed') === ['replayed' => false], 'reverse');
expect($store->reverse('POS-40111-000125', 'POS-40111-000123', 'account closed') === ['replayed' => true], 'reverse: retry');
$again = $store->claim('POS-40111-000123', $wife, 'PKH', '2026-Q4', 1500000, 'counter 7', 'post office 40111');
expect($again['replayed'] && $again['reversed_by'] === 'POS-40111-000125', 'a reversed claim says so');
expect($store->check($husband, 'PKH', '2026-Q4')['payable'], 'payable again after the reversal');

// Error paths: the status codes of the C ABI.
expect(code_of(fn() => $store->claim('POS-40111-000123', $wife, 'PKH', '2026-Q4', 1)) === 31, 'request id reused: TEPAT_E_REQUEST_CONFLICT');
expect(code_of(fn() => $store->check($wife, 'NOPE', '2026-Q4')) === 15, 'unknown program: TEPAT_E_PROGRAM');
expect(code_of(fn() => $store->check($wife, 'PKH', '2026-Q5')) === 13, 'bad period: TEPAT_E_PERIOD');
expect(code_of(fn() => $store->get('3201015708900000')) === 10, 'invalid NIK: TEPAT_E_NIK');
expect(code_of(fn() => $store->reverse('POS-X', 'NO-SUCH', 'x')) === 30, 'nothing to reverse: TEPAT_E_REQUEST');
expect(code_of(fn() => Tepat\Store::open($argv[1] . '/missing')) === 40, 'missing store: TEPAT_E_NO_STORE');
expect(code_of(fn() => Tepat\Store::open($dir, ['key' => str_repeat('k', 32)])) === 3, 'a key that is no key: TEPAT_E_ARGUMENT');
expect(code_of(fn() => Tepat\Store::open($dir, ['key' => str_repeat('k', 16)])) === 45, 'a key at a plain store: TEPAT_E_KEY');
// A keyed payout point's store: made and opened with its key only.
$keyed = $argv[1] . '/php-keyed';
$key = ['today' => '2026-11-15', 'key' => 'tepat-identity-key:' . str_repeat('5a', 16)];
$k = Tepat\Store::create($keyed, $register, '2026-11-01', $key);
expect($k->check($wife, 'PKH', '2026-Q4')['payable'], 'a keyed store answers with its key');
$k->close();
expect(code_of(fn() => Tepat\Store::open($keyed, $today)) === 45, 'a keyed store without its key: TEPAT_E_KEY');
$k = Tepat\Store::open($keyed, $key);
expect($k->check($wife, 'PKH', '2026-Q4')['payable'], 'reopened with its key');
$k->close();
try {
    $store->check($wife, 'PKH', '2026-Q5');
} catch (Tepat\Error $e) {
    expect($e->codeName === 'TEPAT_E_PERIOD' && str_contains($e->getMessage(), '2026-Q5'), 'the message names the period');
}
$store->close();
expect(code_of(fn() => $store->check($wife, 'PKH', '2026-Q4')) === 4, 'a closed store');

// Durable: after a reopen the retry is still a retry.
$store = Tepat\Store::open($dir, $today);
expect($store->claim('POS-40111-000123', $wife, 'PKH', '2026-Q4', 1500000, 'counter 7', 'post office 40111')['replayed'], 'replayed after a reopen');
$store->close();

echo "$passed passed, $failed failed\n";
exit($failed === 0 ? 0 : 1);

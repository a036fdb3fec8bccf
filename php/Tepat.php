<?php
/*
 * tepat from PHP, through the C ABI (libtepat_ffi.so and ffi/include/tepat.h)
 * with PHP's FFI extension (PHP 7.4+; Debian's php-cli has it). FFI reads
 * the very header C programs include, so there is no second description
 * of the types to keep in step.
 *
 *   require 'Tepat.php';
 *   $store = Tepat\Store::open('/var/lib/tepat/store', ['today' => '2026-11-15']);
 *   $v = $store->check('3201015708900001', 'PKH', '2026-Q4');   // ['payable' => true, 'reasons' => []]
 *   $o = $store->claim('POS-40111-000123', '3201015708900001', 'PKH', '2026-Q4');
 *
 * FFI is enabled by default only in the CLI and in preloaded scripts
 * (ffi.enable=preload); under PHP-FPM preload this file (opcache.preload)
 * or set ffi.enable=true. The library path: TEPAT_LIB, or libtepat_ffi.so
 * on the loader's path. See docs/EMBEDDING.md.
 */

declare(strict_types=1);

namespace Tepat;

/** A failure of tepat: getCode() is the C ABI's status (TEPAT_E_PERIOD = 13, ...). */
final class Error extends \RuntimeException
{
    /** The status's name, "TEPAT_E_PERIOD". */
    public string $codeName;

    public function __construct(string $message, int $code, string $codeName)
    {
        parent::__construct($message, $code);
        $this->codeName = $codeName;
    }
}

/** The C library, loaded once per process. */
final class Lib
{
    private static ?\FFI $ffi = null;

    /** The header as PHP's FFI reads it: without preprocessor lines, and with
     * what a C11 compiler (not C++, not C23) would keep. */
    public static function header(string $path): string
    {
        $out = [];
        $on = true;
        $stack = [];
        foreach (file($path) as $line) {
            $t = trim($line);
            if ($t === '' || $t[0] !== '#') {
                if ($on) {
                    $out[] = $line;
                }
                continue;
            }
            if (preg_match('/^#\s*(ifdef|ifndef|if)\b\s*(.*)$/', $t, $m)) {
                // ifndef: true (neither C++ nor the include guard is defined);
                // ifdef and if: false (__cplusplus, __STDC_VERSION__ >= C23).
                $cond = $m[1] === 'ifndef';
                $stack[] = [$on, $cond];
                $on = $on && $cond;
            } elseif (preg_match('/^#\s*else\b/', $t)) {
                [$parent, $cond] = array_pop($stack);
                $stack[] = [$parent, !$cond];
                $on = $parent && !$cond;
            } elseif (preg_match('/^#\s*endif\b/', $t)) {
                [$on] = array_pop($stack);
            }
            // #include, #define: nothing FFI needs (the types it knows).
        }
        return implode('', $out);
    }

    public static function ffi(): \FFI
    {
        if (self::$ffi === null) {
            $header = getenv('TEPAT_HEADER') ?: __DIR__ . '/../ffi/include/tepat.h';
            $lib = getenv('TEPAT_LIB') ?: 'libtepat_ffi.so';
            self::$ffi = \FFI::cdef(self::header($header), $lib);
        }
        return self::$ffi;
    }

    /** Throws the thread's last error unless $status is TEPAT_OK. */
    public static function check(int $status): void
    {
        if ($status !== 0) {
            $ffi = self::ffi();
            // FFI hands a returned `const char *` over as a PHP string.
            $message = (string) $ffi->tepat_last_error_message();
            throw new Error($message, $status, (string) $ffi->tepat_status_name($status));
        }
    }

    /** A C buffer holding $s (kept alive by the returned value). */
    public static function buffer(string $s): ?\FFI\CData
    {
        if ($s === '') {
            return null;
        }
        $buf = self::ffi()->new('char[' . strlen($s) . ']');
        \FFI::memcpy($buf, $s, strlen($s));
        return $buf;
    }

    /** The reason codes of a bitset, in order. */
    public static function reasons(int $bits): array
    {
        $out = [];
        for ($r = 0; $r < 32; $r++) {
            if ($bits >> $r & 1) {
                $out[] = self::ffi()->tepat_reason_code($r);
            }
        }
        return $out;
    }
}

/** An open store: one per process; every call may come from any thread. */
final class Store
{
    private \FFI\CData $handle;
    private bool $open = true;

    private function __construct(\FFI\CData $handle)
    {
        $this->handle = $handle;
    }

    /** The C options from ['resident' => bool, 'today' => 'YYYY-MM-DD', 'key' => ...]. */
    private static function options(array $o, array &$keep): \FFI\CData
    {
        $ffi = Lib::ffi();
        $opts = $ffi->new('tepat_open_options');
        $opts->resident = (bool) ($o['resident'] ?? false);
        foreach (['today' => 'today', 'key' => 'key', 'trusted_keys' => 'trusted_keys'] as $name => $field) {
            if (isset($o[$name])) {
                $keep[] = $buf = Lib::buffer((string) $o[$name]);
                $len = strlen((string) $o[$name]);
                // The array's address: a cast of the array itself would
                // read its first bytes as the pointer.
                $opts->{$field} = $buf === null ? null : \FFI::cast($field === 'today' ? 'const char *' : 'const uint8_t *', \FFI::addr($buf));
                $opts->{$field . '_len'} = $len;
            }
        }
        return $opts;
    }

    /** Opens the store in $path. */
    public static function open(string $path, array $options = []): Store
    {
        $ffi = Lib::ffi();
        $keep = [];
        $opts = self::options($options, $keep);
        $out = $ffi->new('tepat_store *');
        Lib::check($ffi->tepat_open($path, strlen($path), \FFI::addr($opts), \FFI::addr($out)));
        return new Store($out);
    }

    /** Creates a store in $path from a register export (CSV) and opens it;
     * $ingest gets ['rows', 'accepted', 'rejected']. */
    public static function create(string $path, string $register, ?string $asOf = null, array $options = [], ?array &$ingest = null): Store
    {
        $ffi = Lib::ffi();
        $keep = [];
        $opts = self::options($options, $keep);
        $out = $ffi->new('tepat_store *');
        $counts = $ffi->new('tepat_ingest');
        Lib::check($ffi->tepat_create(
            $path, strlen($path), $register, strlen($register),
            $asOf, $asOf === null ? 0 : strlen($asOf),
            \FFI::addr($opts), \FFI::addr($out), \FFI::addr($counts)
        ));
        $ingest = ['rows' => $counts->rows, 'accepted' => $counts->accepted, 'rejected' => $counts->rejected];
        return new Store($out);
    }

    /** Closes the store (idempotent). */
    public function close(): void
    {
        if ($this->open) {
            Lib::ffi()->tepat_close($this->handle);
            $this->open = false;
        }
    }

    public function __destruct()
    {
        $this->close();
    }

    private function handle(): \FFI\CData
    {
        if (!$this->open) {
            throw new Error('the store is closed', 4, 'TEPAT_E_HANDLE');
        }
        return $this->handle;
    }

    /** The verdict as an array: payable, reasons (codes), blocking, claimed. */
    private static function verdict(\FFI\CData $v): array
    {
        $claimed = null;
        if ($v->claimed) {
            $claimed = [
                'request_id' => \FFI::string($v->claimed_request_id),
                'nik' => \FFI::string($v->claimed_nik),
                'kk' => \FFI::string($v->claimed_kk),
                'at_ms' => $v->claimed_at_ms,
            ];
        }
        return [
            'payable' => $v->payable,
            'reasons' => Lib::reasons($v->reasons),
            'blocking' => Lib::reasons($v->blocking),
            'claimed' => $claimed,
        ];
    }

    /** The person's current state (['found' => false] when not in the register). */
    public function get(string $nik): array
    {
        $ffi = Lib::ffi();
        $p = $ffi->new('tepat_person');
        Lib::check($ffi->tepat_get($this->handle(), $nik, strlen($nik), \FFI::addr($p)));
        if (!$p->found) {
            return ['nik' => $nik, 'found' => false];
        }
        return [
            'nik' => \FFI::string($p->nik),
            'found' => true,
            'kk' => \FFI::string($p->kk),
            'relation' => \FFI::string($p->relation),
            'village_code' => \FFI::string($p->village_code),
            'village' => \FFI::string($p->village),
            'sex' => $p->sex,
            'birth_date' => \FFI::string($p->birth_date),
            'decile' => $p->decile,
            'deceased' => $p->deceased,
            'civil_servant' => $p->civil_servant,
            'duplicate' => $p->duplicate,
            'enrolled' => $this->programs($p->enrolled),
            'eligible' => $this->programs($p->eligible),
            'pending' => $p->pending,
        ];
    }

    /** The program codes of a bitset. */
    private function programs(int $bits): array
    {
        $ffi = Lib::ffi();
        $out = [];
        $code = $ffi->new('tepat_str');
        $n = $ffi->tepat_program_count($this->handle());
        for ($i = 0; $i < $n; $i++) {
            if ($bits >> $i & 1) {
                Lib::check($ffi->tepat_program_code($this->handle(), $i, \FFI::addr($code)));
                $out[] = \FFI::string($code->ptr, $code->len);
            }
        }
        return $out;
    }

    /** May $nik be paid $program for $period? */
    public function check(string $nik, string $program, string $period): array
    {
        $ffi = Lib::ffi();
        $v = $ffi->new('tepat_verdict');
        Lib::check($ffi->tepat_check(
            $this->handle(), $nik, strlen($nik), $program, strlen($program), $period, strlen($period), \FFI::addr($v)
        ));
        return self::verdict($v);
    }

    /** Checks and records a payout in one step, durably; idempotent by $requestId. */
    public function claim(string $requestId, string $nik, string $program, string $period, ?int $amount = null, string $operator = '', string $meta = ''): array
    {
        $ffi = Lib::ffi();
        $req = $ffi->new('tepat_claim_request');
        $keep = [];
        foreach (['request_id' => $requestId, 'nik' => $nik, 'program' => $program, 'period' => $period, 'operator_id' => $operator, 'meta' => $meta] as $field => $value) {
            $keep[] = $buf = Lib::buffer($value);
            $req->{$field}->ptr = $buf === null ? null : \FFI::cast('const char *', $buf);
            $req->{$field}->len = strlen($value);
        }
        $req->has_amount = $amount !== null;
        $req->amount = $amount ?? 0;
        $o = $ffi->new('tepat_claim_outcome');
        Lib::check($ffi->tepat_claim($this->handle(), \FFI::addr($req), \FFI::addr($o)));
        return [
            'paid' => $o->paid,
            'replayed' => $o->replayed,
            'reversed_by' => $o->reversed ? \FFI::string($o->reversed_by) : null,
            'amount' => $o->has_amount ? $o->amount : null,
            'entitled' => $o->has_entitled ? $o->entitled : null,
            'verdict' => self::verdict($o->verdict),
        ];
    }

    /** Reverses the paid claim $original by the request $requestId. */
    public function reverse(string $requestId, string $original, string $reason = ''): array
    {
        $ffi = Lib::ffi();
        $o = $ffi->new('tepat_reverse_outcome');
        Lib::check($ffi->tepat_reverse(
            $this->handle(), $requestId, strlen($requestId), $original, strlen($original), $reason, strlen($reason), \FFI::addr($o)
        ));
        return ['replayed' => $o->replayed];
    }
}

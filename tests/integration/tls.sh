#!/bin/sh
# TLS verification is always on: the Airflow double behind a self-signed
# certificate (made here with openssl) is refused with a message about
# certificate verification and the fix, and trusted once ca_bundle or
# LAKEOP_CA_BUNDLE names that certificate; the name is checked too.
. "$(dirname "$0")/../lib/common.sh"
. "$LK_ROOT/tests/lib/doubles.sh"
set -u

T=$(lk_tmpdir)
lk_hermetic_home "$T" LAKEOP_CA_BUNDLE CURL_CA_BUNDLE SSL_CERT_FILE SSL_CERT_DIR

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 2 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >"$T/openssl.log" 2>&1 \
    || { lk_fail "openssl makes a certificate" "$(cat "$T/openssl.log")"; lk_done; exit 1; }
airflow_double_start || { lk_fail "airflow double" "did not start"; lk_done; exit 1; }
port=$(lk_free_port)
python3 "$LK_ROOT/tests/integration/tls_proxy.py" --port "$port" --upstream "$LK_AIRFLOW_PORT" \
    --cert "$T/cert.pem" --key "$T/key.pem" >"$T/proxy.log" 2>&1 &
lk_on_exit "kill $!"
lk_wait_port "$port" || { lk_fail "TLS proxy" "$(cat "$T/proxy.log")"; lk_done; exit 1; }
url=https://127.0.0.1:$port

cat >"$T/config" <<CONF
[env "CODE"]
airflow.url = $url
airflow.user = ops
airflow.password = pw
CONF
chmod 600 "$T/config"
cp "$T/config" "$T/config-ca"
echo "ca_bundle = $T/cert.pem" >>"$T/config-ca"

out=$(timeout 60 "$LK_BIN" --config "$T/config" doctor 2>&1); st=$?
if [ $st -eq 1 ] && printf '%s' "$out" | grep -q "airflow *failed .*$url/.*: TLS certificate verification failed (.*self-signed certificate" &&
   printf '%s' "$out" | grep -q "point ca_bundle (or LAKEOP_CA_BUNDLE) at that CA's PEM file" &&
   printf '%s' "$out" | grep -q "doctor: airflow failed"; then
    lk_pass "a self-signed certificate is refused, naming verification and the fix"
else
    lk_fail "self-signed refused" "$st: $out"
fi
grep -q 'handshake refused' "$T/proxy.log" && lk_pass "lakeop ended the handshake (nothing sent in clear)" \
    || lk_fail "handshake refused" "$(cat "$T/proxy.log")"

# doctor_says NAME STATUS PATTERN CONFIG [VAR=VALUE...]: doctor with that
# config and environment exits STATUS, its output matching PATTERN.
doctor_says() {
    name=$1; want=$2; pattern=$3; config=$4; shift 4
    out=$(env "$@" timeout 60 "$LK_BIN" --config "$config" doctor 2>&1); st=$?
    if [ $st -eq "$want" ] && printf '%s' "$out" | grep -q -- "$pattern"; then lk_pass "$name"; else lk_fail "$name" "$st: $out"; fi
}
doctor_says "ca_bundle in the config trusts it" 0 "airflow *ok .*$url as ops" "$T/config-ca"
doctor_says "LAKEOP_CA_BUNDLE trusts it" 0 "airflow *ok .*$url as ops" "$T/config" LAKEOP_CA_BUNDLE="$T/cert.pem"
# Trusting the CA does not waive the name: the certificate is for 127.0.0.1 only.
doctor_says "a name the certificate does not cover is refused" 1 "TLS certificate verification failed (.*localhost" \
    "$T/config" LAKEOP_CA_BUNDLE="$T/cert.pem" LAKEOP_AIRFLOW_URL="https://localhost:$port"
doctor_says "a CA bundle that is not there is named" 1 \
    "cannot use the CA bundle $T/no-such.pem (ca_bundle or LAKEOP_CA_BUNDLE)" "$T/config" LAKEOP_CA_BUNDLE="$T/no-such.pem"

lk_done

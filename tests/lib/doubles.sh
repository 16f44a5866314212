# Start lakeop's test doubles (tests/doubles/README.md).  Source after
# tests/lib/common.sh.  Each double listens on a free loopback port and is
# stopped when the script exits.
#
#   zuora_double_start [ARGS]    exports LK_ZUORA_URL, LK_ZUORA_PORT, LK_ZUORA_PID
#   airflow_double_start [ARGS]  exports LK_AIRFLOW_URL, LK_AIRFLOW_PORT, LK_AIRFLOW_PID
#   zuora_ctl METHOD PATH [JSON]     a control call (prints the answer)
#   airflow_ctl METHOD PATH [JSON]
#
# ARGS go to the double (e.g. --job-seconds 0).  Default credentials:
# Zuora client lakeop-test / s3cret, Airflow user ops / pw.

# dbl_start NAME SCRIPT ARGS...: sets DBL_PORT and DBL_PID.  A free port can
# be taken by someone else before the double binds it, so try a few.
dbl_start() {
    dbl_name=$1; dbl_script=$2; shift 2
    dbl_dir=$(lk_tmpdir)
    for dbl_try in 1 2 3; do
        DBL_PORT=$(lk_free_port)
        dbl_log="$dbl_dir/$dbl_name.$DBL_PORT.log"
        python3 "$LK_ROOT/tests/doubles/$dbl_script" --port "$DBL_PORT" "$@" >"$dbl_log" 2>&1 &
        DBL_PID=$!
        lk_on_exit "kill $DBL_PID"
        dbl_n=0
        while [ $dbl_n -lt 200 ]; do
            if ! kill -0 "$DBL_PID" 2>/dev/null; then
                break
            fi
            if python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(0 if s.connect_ex(('127.0.0.1',$DBL_PORT))==0 else 1)" 2>/dev/null; then
                return 0
            fi
            sleep 0.05
            dbl_n=$((dbl_n + 1))
        done
        kill "$DBL_PID" 2>/dev/null
        # A usage error will not go away by retrying.
        if grep -q 'usage:' "$dbl_log"; then
            break
        fi
    done
    echo "the $dbl_name double did not start:" >&2
    cat "$dbl_log" >&2
    return 1
}

zuora_double_start() {
    dbl_start zuora zuora_double.py "$@" || return 1
    LK_ZUORA_PORT=$DBL_PORT
    LK_ZUORA_PID=$DBL_PID
    LK_ZUORA_URL=http://127.0.0.1:$DBL_PORT
    export LK_ZUORA_PORT LK_ZUORA_PID LK_ZUORA_URL
}

airflow_double_start() {
    dbl_start airflow airflow_double.py "$@" || return 1
    LK_AIRFLOW_PORT=$DBL_PORT
    LK_AIRFLOW_PID=$DBL_PID
    LK_AIRFLOW_URL=http://127.0.0.1:$DBL_PORT
    export LK_AIRFLOW_PORT LK_AIRFLOW_PID LK_AIRFLOW_URL
}

dbl_ctl() {
    dbl_url=$1; dbl_method=$2; dbl_path=$3
    if [ $# -ge 4 ]; then
        curl -sS -X "$dbl_method" -H 'Content-Type: application/json' --data-binary "$4" "$dbl_url$dbl_path"
    else
        curl -sS -X "$dbl_method" "$dbl_url$dbl_path"
    fi
}
zuora_ctl() { dbl_ctl "$LK_ZUORA_URL" "$@"; }
airflow_ctl() { dbl_ctl "$LK_AIRFLOW_URL" "$@"; }

# zuora_two_objects_config FILE DATABASE RAW_DIR: a config (chmod 600) whose
# env CODE is on the Zuora double (secret in $ZSECRET), with the objects
# Account and Contact copied to RAW_DIR: what the console's export tests share.
zuora_two_objects_config() {
    cat >"$1" <<CONF
[env "CODE"]
database       = $2
operator       = alice
zuora.url      = $LK_ZUORA_URL
zuora.client_id = lakeop-test
zuora.client_secret = env:ZSECRET
zuora.partner  = guardian-12357
zuora.project  = zuora-datalake-export-2
zuora.timezone = UTC

[object "Account"]
zoql  = SELECT Account.Id, Account.Name FROM Account
raw   = file://$3/Account.csv
stage = zuora_account

[object "Contact"]
zoql  = SELECT Contact.Id, Contact.FirstName FROM Contact
raw   = file://$3/Contact.csv
stage = zuora_contact
CONF
    chmod 600 "$1"
}

# airflow_cli_env: T (a private folder), HOME inside it, and none of the
# caller's lakeop settings, for scripts that run lakeop's commands against
# the Airflow double (one that needs a database sets LAKEOP_DATABASE_URL).
airflow_cli_env() {
    T=$(lk_tmpdir)
    export HOME="$T/home"
    mkdir -p "$HOME"
    unset LAKEOP_CONFIG LAKEOP_ENV XDG_CONFIG_HOME LAKEOP_DATABASE_URL LAKEOP_AIRFLOW_DAG 2>/dev/null
}

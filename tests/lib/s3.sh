# S3 servers for tests.  Source after common.sh.  Every server listens on
# 127.0.0.1 on a free port and is stopped when the script exits.
#
#   moto_start          moto_server with signature checking ON (the strict
#                       server: SigV4, multipart rules, ListMultipartUploads).
#                       Creates an IAM user with an allow-all policy and an
#                       access key during moto's first unauthenticated
#                       requests; from then on every request must be signed
#                       with that key.  Exports
#                         LK_MOTO_URL      http://127.0.0.1:PORT
#                         LK_MOTO_KEY      the access key id  (AWS_ACCESS_KEY_ID for lakeop)
#                         LK_MOTO_SECRET   the secret key     (AWS_SECRET_ACCESS_KEY)
#                         LK_MOTO_LOG      its request log, one line per request
#                                          ("PUT /bucket/key HTTP/1.1" 200): count
#                                          requests, e.g. to prove one was not retried
#   moto_start_noauth   moto_server without signature checking, for keys
#                       that need percent-encoding (moto mis-verifies those
#                       with auth on).  Exports LK_MOTO_NOAUTH_URL; any
#                       credentials work (use "test"/"test").
#   s3rver_start [DIR [BUCKET...]]
#                       s3rver (npm, streams to disk: large objects, paging),
#                       keeping its objects in DIR (default: a temporary
#                       folder) and its log next to it, with BUCKETs made at
#                       start.  Exports LK_S3RVER_URL and LK_S3RVER_DIR; no
#                       signature checks; credentials S3RVER/S3RVER.
#   lk_aws URL ARGS...  the aws CLI against the server at URL with that
#                       server's credentials, region us-east-1, and no user
#                       configuration.  E.g.
#                         lk_aws "$LK_MOTO_URL" s3 mb s3://bucket
#                         lk_aws "$LK_MOTO_URL" s3 cp s3://bucket/key - > out
#                         lk_aws "$LK_MOTO_URL" s3api list-multipart-uploads --bucket bucket
#   lk_s3_env URL       prints the environment lakeop needs for that server
#                       (LAKEOP_S3_ENDPOINT, AWS_ACCESS_KEY_ID,
#                       AWS_SECRET_ACCESS_KEY, AWS_REGION), for
#                       `env $(lk_s3_env "$LK_MOTO_URL") $LK_BIN ...`
#
# Logs go to $(lk_tmpdir)/moto.PORT.log and s3rver.PORT.log.

LK_S3_REGION=us-east-1

# The aws CLI must not read the developer's own profile or ask EC2 for one.
lk_aws_clean_env() {
    AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true \
    AWS_DEFAULT_REGION=$LK_S3_REGION AWS_REGION=$LK_S3_REGION AWS_PAGER= "$@"
}

lk_s3_key_for() {   # URL -> "KEY SECRET"
    if [ -n "${LK_MOTO_URL:-}" ] && [ "$1" = "$LK_MOTO_URL" ]; then
        echo "$LK_MOTO_KEY $LK_MOTO_SECRET"
    elif [ -n "${LK_S3RVER_URL:-}" ] && [ "$1" = "$LK_S3RVER_URL" ]; then
        echo "S3RVER S3RVER"
    else
        echo "test test"
    fi
}

lk_aws() {
    url=$1; shift
    set -- "$url" "$@"
    # shellcheck disable=SC2046
    set -- $(lk_s3_key_for "$url") "$@"
    key=$1 secret=$2 url=$3
    shift 3
    AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret lk_aws_clean_env \
        aws --endpoint-url "$url" --region "$LK_S3_REGION" "$@"
}

lk_s3_env() {
    # shellcheck disable=SC2046
    set -- $(lk_s3_key_for "$1") "$1"
    echo "LAKEOP_S3_ENDPOINT=$3 AWS_ACCESS_KEY_ID=$1 AWS_SECRET_ACCESS_KEY=$2 AWS_REGION=$LK_S3_REGION"
}

lk_moto_launch() {   # auth_count (empty: no auth) -> sets lk_moto_port
    # Made here, not in $(...): a subshell would forget it and its cleanup.
    lk_tmpdir >/dev/null
    lk_moto_port=$(lk_free_port)
    log=$(lk_tmpdir)/moto.$lk_moto_port.log
    if [ -n "$1" ]; then
        INITIAL_NO_AUTH_ACTION_COUNT=$1 moto_server -H 127.0.0.1 -p "$lk_moto_port" >"$log" 2>&1 &
    else
        moto_server -H 127.0.0.1 -p "$lk_moto_port" >"$log" 2>&1 &
    fi
    pid=$!
    lk_on_exit "kill $pid"
    lk_wait_port "$lk_moto_port" 400 || { cat "$log" >&2; return 1; }
    lk_moto_log=$log
}

moto_start() {
    # Three unauthenticated requests: create the user, its key, its policy.
    lk_moto_launch 3 || return 1
    url=http://127.0.0.1:$lk_moto_port
    run() {
        AWS_ACCESS_KEY_ID=bootstrap AWS_SECRET_ACCESS_KEY=bootstrap lk_aws_clean_env \
            aws --endpoint-url "$url" --region "$LK_S3_REGION" "$@"
    }
    run iam create-user --user-name lakeop >/dev/null || return 1
    keys=$(run iam create-access-key --user-name lakeop \
        --query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text) || return 1
    run iam put-user-policy --user-name lakeop --policy-name all \
        --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}' \
        >/dev/null || return 1
    # shellcheck disable=SC2086
    set -- $keys
    [ -n "${1:-}" ] && [ -n "${2:-}" ] || { echo "moto_start: no access key from moto" >&2; return 1; }
    LK_MOTO_URL=$url
    LK_MOTO_KEY=$1
    LK_MOTO_SECRET=$2
    LK_MOTO_LOG=$lk_moto_log
    export LK_MOTO_URL LK_MOTO_KEY LK_MOTO_SECRET LK_MOTO_LOG
}

moto_start_noauth() {
    lk_moto_launch "" || return 1
    LK_MOTO_NOAUTH_URL=http://127.0.0.1:$lk_moto_port
    export LK_MOTO_NOAUTH_URL
}

s3rver_start() {
    node_dir=$LK_ROOT/tests/node
    if [ ! -f "$node_dir/node_modules/s3rver/bin/s3rver.js" ]; then
        (cd "$node_dir" && npm install --no-audit --no-fund --loglevel=error >/dev/null) || return 1
    fi
    lk_tmpdir >/dev/null
    port=$(lk_free_port)
    if [ -n "${1:-}" ]; then
        LK_S3RVER_DIR=$1
        log=$1.log
        shift
    else
        LK_S3RVER_DIR=$(lk_tmpdir)/s3rver.$port
        log=$(lk_tmpdir)/s3rver.$port.log
    fi
    mkdir -p "$LK_S3RVER_DIR"
    s3rver_buckets=""
    for b in "$@"; do s3rver_buckets="$s3rver_buckets --configure-bucket $b"; done
    # Without the legacy provider, paged listings fail on Node 20 (S3.md).
    # shellcheck disable=SC2086
    NODE_OPTIONS=--openssl-legacy-provider node "$node_dir/node_modules/s3rver/bin/s3rver.js" \
        -d "$LK_S3RVER_DIR" -a 127.0.0.1 -p "$port" --silent $s3rver_buckets >"$log" 2>&1 &
    pid=$!
    lk_on_exit "kill $pid"
    lk_wait_port "$port" 400 || { cat "$log" >&2; return 1; }
    LK_S3RVER_URL=http://127.0.0.1:$port
    export LK_S3RVER_URL LK_S3RVER_DIR
}

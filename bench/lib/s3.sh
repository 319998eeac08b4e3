# bench/lib/s3.sh: start the benchmarks' local S3 server (examples/s3_server.rs: s3s-fs with
# SigV4, logging every request to $1/requests.log) on a free loopback port, with the AWS
# variables every tool reads. Sets server_pid and endpoint; the caller stops it (trap).
# Usage: . bench/lib/s3.sh; start_s3_server WORK   (needs $repo, python3; WORK/s3root/bench exists)
start_s3_server() {
    local work=$1 port
    cargo build --profile dist --quiet --manifest-path "$repo/Cargo.toml" --example s3_server
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    export AWS_ACCESS_KEY_ID=BENCHKEY0000000000001 AWS_SECRET_ACCESS_KEY=bench/secret/0123456789abcdefghijklmn
    export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
    "$repo/target/dist/examples/s3_server" "$work/s3root" "$port" "$AWS_ACCESS_KEY_ID" \
        "$AWS_SECRET_ACCESS_KEY" "$work/requests.log" &
    server_pid=$!
    for _ in $(seq 50); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break
        sleep 0.1
    done
    endpoint="http://127.0.0.1:$port"
}

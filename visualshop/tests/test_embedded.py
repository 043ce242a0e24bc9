import json
import subprocess

import psutil

from visualshop import embedded


def test_redis_starts_on_a_socket_and_stops(tmp_path):
    import redis

    process, socket_path = embedded.start_redis(tmp_path / "redis", persist=False)
    try:
        client = redis.Redis(unix_socket_path=str(socket_path))
        assert client.ping() is True
        assert client.config_get("port") == {"port": "0"}  # no TCP listener
    finally:
        embedded.stop_process(process)
    assert process.returncode == 0


def test_dead_users_are_forgotten_so_the_last_real_user_stops_postgres(tmp_path):
    pgdata = tmp_path / "pgdata"
    pgdata.mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    (pgdata / ".handle_pids.json").write_text(json.dumps([dead.pid, psutil.Process().pid]))
    embedded._forget_dead_users(pgdata)
    assert json.loads((pgdata / ".handle_pids.json").read_text()) == [psutil.Process().pid]

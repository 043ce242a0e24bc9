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


def test_durable_redis_keeps_its_queue_through_kill_9(tmp_path):
    """make run's Redis (persist=True): what was written survives a crash of the server."""
    import redis

    process, socket_path = embedded.start_redis(tmp_path / "redis")
    try:
        client = redis.Redis(unix_socket_path=str(socket_path))
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("appendfsync") == {"appendfsync": "everysec"}
        client.lpush("celery", "message-1", "message-2")
        process.kill()
        process.wait()
        process, socket_path = embedded.start_redis(tmp_path / "redis")
        client = redis.Redis(unix_socket_path=str(socket_path))
        assert client.lrange("celery", 0, -1) == [b"message-2", b"message-1"]
    finally:
        embedded.stop_process(process)


def test_test_redis_starts_empty_after_a_restart(tmp_path):
    """The tests' Redis (persist=False) writes nothing: a restart is a broker that lost its data."""
    import redis

    process, socket_path = embedded.start_redis(tmp_path / "redis", persist=False)
    try:
        redis.Redis(unix_socket_path=str(socket_path)).lpush("celery", "message-1")
        process.kill()
        process.wait()
        process, socket_path = embedded.start_redis(tmp_path / "redis", persist=False)
        assert redis.Redis(unix_socket_path=str(socket_path)).llen("celery") == 0
    finally:
        embedded.stop_process(process)
    assert sorted(path.name for path in (tmp_path / "redis").iterdir()) == ["redis.log"]

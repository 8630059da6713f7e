"""Broker security: password authentication and per-identity topic ACLs, on Debian mosquitto
(password and ACL files written by `arena serve --write-mosquitto-config`) and on the
embedded amqtt broker, probed with a third-party client (paho-mqtt) holding real credentials."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import shutil
import stat
import subprocess
import uuid
from pathlib import Path

import aiomqtt
import pytest
from mqtt_support import ThirdParty, amqtt_broker, credentials, eventually, mosquitto  # noqa: F401 (fixtures)

from persona_arena.server.broker import (
    Credentials, CredentialsError, EmbeddedBroker, amqtt_config, mosquitto_acl, mosquitto_password_hash, permissions,
)
from persona_arena.server.mqtt import BrokerRefused, BrokerUrl, MqttLink
from persona_arena.server.protocol import agent_topic, god_topic, public_topic


@pytest.fixture(params=["mosquitto", "amqtt"])
def broker_url(request) -> BrokerUrl:
    return request.getfixturevalue("mosquitto" if request.param == "mosquitto" else "amqtt_broker").url


async def admin_client(url: BrokerUrl, creds: Credentials) -> aiomqtt.Client:
    return aiomqtt.Client(url.host, url.port, username="admin", password=creds.users["admin"].password,
                          identifier=f"admin-{uuid.uuid4().hex[:8]}")


async def test_a_player_reads_only_its_own_inbox(broker_url, credentials):
    alpha = ThirdParty(broker_url, "alpha", credentials.users["alpha"].password)
    try:
        await eventually(alpha.answered.is_set)
        assert alpha.connack == 0
        probes = {t: alpha.subscribe(t) for t in (
            "#", agent_topic("beta", "inbox"), "arena/v1/god/#", "arena/v1/agents/+/inbox",
            agent_topic("beta", "outbox"), agent_topic("alpha", "inbox"))}
        await eventually(lambda: len(alpha.granted) == len(probes))
        async with await admin_client(broker_url, credentials) as admin:
            await admin.publish(god_topic("run", "s1"), b"secret god view", qos=1)
            await admin.publish(agent_topic("beta", "inbox"), b"beta's turn", qos=1)
            await admin.publish(agent_topic("beta", "outbox"), b"beta's reply", qos=1)
            await admin.publish(public_topic("run", "s1"), b"public event", qos=1)
            await admin.publish("arena/v1/server/results/x", b"admin business", qos=1)
            # Last, on alpha's own inbox: once it arrives, anything earlier would have too.
            await admin.publish(agent_topic("alpha", "inbox"), b"alpha's turn", qos=1)
            await eventually(lambda: agent_topic("alpha", "inbox") in alpha.topics())
        assert alpha.topics() == [agent_topic("alpha", "inbox")]
        assert alpha.messages[0][1] == b"alpha's turn"
    finally:
        alpha.close()


async def test_a_player_cannot_write_another_players_outbox(broker_url, credentials):
    async with await admin_client(broker_url, credentials) as admin:
        await admin.subscribe("arena/v1/#", qos=1)
        intruder = ThirdParty(broker_url, "alpha", credentials.users["alpha"].password)
        try:
            await eventually(intruder.answered.is_set)
            for topic in (agent_topic("beta", "outbox"), agent_topic("beta", "status"), god_topic("run", "s1"),
                          public_topic("run", "s1"), "arena/v1/server/submit", agent_topic("alpha", "inbox")):
                await intruder.publish(topic, b"forged")
            await intruder.publish(agent_topic("alpha", "outbox"), b"own reply")
            seen = []
            async with asyncio.timeout(10):
                async for message in admin.messages:
                    seen.append(str(message.topic))
                    if message.payload == b"own reply":
                        break
        finally:
            intruder.close()
    assert seen == [agent_topic("alpha", "outbox")]


async def test_a_spectator_reads_public_events_only(broker_url, credentials):
    viewer = ThirdParty(broker_url, "spectator", credentials.users["spectator"].password)
    try:
        await eventually(viewer.answered.is_set)
        for topic in ("#", "arena/v1/god/#", "arena/v1/agents/+/inbox", "arena/v1/public/#"):
            viewer.subscribe(topic)
        await eventually(lambda: len(viewer.granted) == 4)
        async with await admin_client(broker_url, credentials) as admin:
            await admin.publish(god_topic("run", "s1"), b"god", qos=1)
            await admin.publish(agent_topic("alpha", "inbox"), b"turn", qos=1)
            await admin.publish(public_topic("run", "s1"), b"public", qos=1)
            await eventually(lambda: public_topic("run", "s1") in viewer.topics())
        assert set(viewer.topics()) == {public_topic("run", "s1")}  # once per matching subscription
    finally:
        viewer.close()


@pytest.mark.parametrize("username, password", [("alpha", "wrong-password"), ("nobody", "x" * 12), (None, None)])
async def test_bad_or_missing_credentials_are_refused(broker_url, username, password):
    client = ThirdParty(broker_url, username, password)
    try:
        await eventually(client.answered.is_set)
        assert client.connack != 0
    finally:
        client.close()


async def test_a_link_with_a_wrong_password_says_so(broker_url):
    link = MqttLink(broker_url, Credentials.generate().login("admin"), client_id="wrong")
    with pytest.raises(BrokerRefused, match="refused user 'admin'"):
        await link.start(wait=10)
    await link.stop()


# -- the generated files -----------------------------------------------------------------------
def test_mosquitto_password_hash_is_what_mosquitto_passwd_writes(tmp_path):
    passwd = shutil.which("mosquitto_passwd")
    if passwd is None:
        pytest.skip("mosquitto_passwd is not installed")
    file = tmp_path / "p"
    file.touch()
    subprocess.run([passwd, "-b", str(file), "alice", "s3cret-pw"], check=True)
    _, line = file.read_text().strip().split(":", 1)
    _, kind, iterations, salt, _ = line.split("$")
    assert kind == "7"
    assert mosquitto_password_hash("s3cret-pw", salt=base64.b64decode(salt), iterations=int(iterations)) == line
    assert mosquitto_password_hash("other", salt=base64.b64decode(salt), iterations=int(iterations)) != line


def test_mosquitto_hash_is_pbkdf2_sha512():
    salt = bytes(range(12))
    line = mosquitto_password_hash("pw", salt=salt, iterations=7)
    expected = base64.b64encode(hashlib.pbkdf2_hmac("sha512", b"pw", salt, 7, 64)).decode()
    assert line == f"$7$7${base64.b64encode(salt).decode()}${expected}"


def test_acl_rules_for_each_identity():
    creds = Credentials.generate(["alpha"])
    rules = permissions(creds)
    assert rules["admin"].read == rules["admin"].write == ["arena/v1/#"]
    assert rules["spectator"].read == ["arena/v1/public/#"] and rules["spectator"].write == []
    assert rules["alpha"].read == ["arena/v1/agents/alpha/inbox"]
    assert rules["alpha"].write == ["arena/v1/agents/alpha/outbox", "arena/v1/agents/alpha/status"]
    acl = mosquitto_acl(creds)
    assert acl.index("user alpha") < acl.index("topic read arena/v1/agents/alpha/inbox") < acl.index("user spectator")
    assert "topic readwrite arena/v1/#" in acl
    config = amqtt_config(creds, host="127.0.0.1", port=1, password_file=Path("p"))
    acl_plugin = config["plugins"]["amqtt.plugins.topic_checking.TopicAccessControlListPlugin"]
    assert acl_plugin["acl"]["spectator"] == ["arena/v1/public/#"]
    assert acl_plugin["publish_acl"]["spectator"] == []


def test_credentials_file_is_private_and_keeps_passwords(tmp_path):
    path = tmp_path / "mqtt" / "credentials.json"
    first = Credentials.load_or_create(path, ["alpha"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = Credentials.load_or_create(path, ["beta"])
    assert second.users["alpha"].password == first.users["alpha"].password
    assert second.agents == ["alpha", "beta"]
    assert Credentials.load(path) == second


@pytest.mark.parametrize("name, fragment", [("admin", "reserved"), ("a/b", "letters, digits"),
                                            ("has space", "letters, digits"), ("x#", "letters, digits")])
def test_bad_worker_names_are_refused(tmp_path, name, fragment):
    with pytest.raises(ValueError, match=fragment):
        Credentials.load_or_create(tmp_path / "c.json", [name])


def test_a_broken_credentials_file_names_the_field(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{"users": {"admin": {"role": "admin", "password": "short"}}}')
    with pytest.raises(CredentialsError, match=r"users\.admin\.password"):
        Credentials.load(path)



async def test_tls_listener_and_mqtts_urls(tmp_path, credentials, monkeypatch):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True)
    async with EmbeddedBroker(credentials, state_dir=tmp_path / "tls", port=0, tls_cert=cert, tls_key=key) as broker:
        url = BrokerUrl.parse(f"mqtts://127.0.0.1:{broker.port}")
        assert broker.url == url
        untrusting = MqttLink(url, credentials.login("admin"), client_id="untrusting")
        with pytest.raises(TimeoutError):  # a self-signed certificate nobody said to trust
            await untrusting.start(wait=3)
        await untrusting.stop()
        monkeypatch.setenv("ARENA_MQTT_CAFILE", str(cert))
        trusting = MqttLink(url, credentials.login("admin"), client_id="trusting")
        await trusting.start(wait=10)
        await trusting.publish(public_topic("run", "s"), "over TLS")
        await trusting.stop()


# -- the embedded broker's session and retained-message guards (amqtt 0.12.1 lacks both) ----------
@pytest.mark.parametrize("client_id, fragment", [
    ("arena-agent-alpha", None), ("arena-watch-1", None), ("mine", None),
    ("arena-agent-beta", "reserved for worker 'beta'"), ("arena-server-control", "reserved for 'admin'"),
    ("arena-run-7-bus", "reserved for 'admin'"),
])
def test_client_ids_of_a_worker(client_id, fragment):
    from persona_arena.server.amqtt_guard import client_id_refusal

    refusal = client_id_refusal(client_id, "alpha", None)
    assert refusal is None if fragment is None else fragment in refusal
    assert client_id_refusal("arena-server-control", "admin", None) is None
    assert "another identity's session" in client_id_refusal("mine", "alpha", "spectator")


async def test_no_identity_takes_over_another_ones_session(amqtt_broker, credentials):
    url = amqtt_broker.url
    alpha = ThirdParty(url, "alpha", credentials.users["alpha"].password, (agent_topic("alpha", "inbox"),),
                       client_id="arena-agent-alpha", clean_session=False)
    intruders: list[ThirdParty] = []
    try:
        await eventually(lambda: alpha.ready == 1)
        # A spectator, another worker, a wrong password and no login, all with alpha's client id;
        # a spectator with the server's.
        for user, password, client_id in [
            ("spectator", credentials.users["spectator"].password, "arena-agent-alpha"),
            ("beta", credentials.users["beta"].password, "arena-agent-alpha"),
            ("alpha", "wrong-password", "arena-agent-alpha"),
            (None, None, "arena-agent-alpha"),
            ("spectator", credentials.users["spectator"].password, "arena-server-control"),
        ]:
            intruder = ThirdParty(url, user, password, client_id=client_id, clean_session=False, reconnect=False)
            intruders.append(intruder)
            await eventually(intruder.answered.is_set)
            assert intruder.connack in (134, 135), (user, client_id, intruder.connack)  # paho: bad login, not authorised
        async with await admin_client(url, credentials) as admin:
            await admin.publish(agent_topic("alpha", "inbox"), b"alpha's turn", qos=1)
        await eventually(lambda: alpha.topics() == [agent_topic("alpha", "inbox")])
        assert alpha.connects == 1  # never dropped (a take-over would have made it reconnect)
        assert all(not i.messages for i in intruders)
    finally:
        for client in (alpha, *intruders):
            client.close()


async def test_retained_messages_go_only_to_their_subscribers(amqtt_broker, credentials):
    url = amqtt_broker.url
    alpha = ThirdParty(url, "alpha", credentials.users["alpha"].password)
    admin = ThirdParty(url, "admin", credentials.users["admin"].password, ("arena/v1/agents/+/status",))
    viewer = None
    try:
        await eventually(lambda: alpha.connack == 0 and admin.ready == 1)
        await alpha.publish(agent_topic("alpha", "status"), b'{"name": "alpha", "spec": "secret-model"}',
                            retain=True)
        await eventually(lambda: admin.topics() == [agent_topic("alpha", "status")])
        # A spectator whose only subscriptions are refused or elsewhere gets none of it.
        viewer = ThirdParty(url, "spectator", credentials.users["spectator"].password,
                            ("arena/v1/agents/+/status", "arena/v1/public/#"))
        await eventually(lambda: viewer.ready == 1)
        async with await admin_client(url, credentials) as publisher:
            await publisher.publish(public_topic("run", "s1"), b"public", qos=1)
        await eventually(lambda: public_topic("run", "s1") in viewer.topics())
        assert viewer.topics() == [public_topic("run", "s1")]
    finally:
        for client in (alpha, admin, viewer):
            if client is not None:
                client.close()

"""The WAHA client against the simulator: message ids per engine, errors mapped by class."""

from __future__ import annotations

import socket

import pytest

from connectors.waha.client import FileToSend, WahaClient, send_endpoint_for
from connectors.waha.errors import (
    WahaPermanentError,
    WahaRateLimited,
    WahaSessionNotWorking,
    WahaTransientError,
    WahaUnauthorized,
)
from connectors.waha.simulator import Simulator, SimulatorConfig
from connectors.waha.wire import link_key

CHAT = "5511987654321@c.us"


async def _sim(**config: object) -> Simulator:
    sim = Simulator(SimulatorConfig(api_key="k", seed=5, **config))  # type: ignore[arg-type]
    await sim.start()
    return sim


@pytest.mark.parametrize("engine", ["WEBJS", "NOWEB", "GOWS"])
async def test_sends_return_the_message_id_whatever_the_engine(engine: str) -> None:
    sim = await _sim(engine=engine)
    try:
        async with WahaClient(sim.url, "k") as client:
            text = await client.send_text("default", CHAT, "Olá, Maria!")
            pdf = FileToSend("https://example.com/boleto.pdf", "application/pdf", "boleto.pdf")
            document = await client.send_file("default", CHAT, pdf, "Seu boleto")
            image = await client.send_file(
                "default", CHAT, FileToSend("https://example.com/qr.png", "image/png")
            )
            await client.start_typing("default", CHAT)
            await client.stop_typing("default", CHAT)
            await client.send_seen("default", CHAT)
    finally:
        await sim.stop()
    accepted = {link_key(s.message_id): s for s in sim.sends}
    assert [accepted[link_key(m.message_id)].endpoint for m in (text, document, image)] == [
        "/api/sendText",
        "/api/sendFile",
        "/api/sendImage",
    ]
    assert accepted[link_key(document.message_id)].text == "Seu boleto"
    assert text.chat_id == CHAT


def test_images_go_to_send_image_and_everything_else_to_send_file() -> None:
    assert send_endpoint_for("image/jpeg") == "/api/sendImage"
    assert send_endpoint_for("IMAGE/PNG") == "/api/sendImage"
    assert send_endpoint_for("application/pdf") == "/api/sendFile"


async def test_check_exists_and_session_status() -> None:
    sim = await _sim(engine="GOWS")
    try:
        async with WahaClient(sim.url, "k") as client:
            found = await client.check_exists("default", "+5531987654321")
            missing = await client.check_exists("default", "+5531900000000")
            info = await client.session_info("default")
            listed = await client.sessions(all_=True)
    finally:
        await sim.stop()
    assert (found.exists, found.chat_id) == (True, "553187654321@c.us")
    assert (missing.exists, missing.chat_id) == (False, None)
    assert (info.name, info.status, info.engine) == ("default", "WORKING", "GOWS")
    assert [s.name for s in listed] == ["default"]


async def test_errors_are_typed() -> None:
    sim = await _sim()
    try:
        async with WahaClient(sim.url, "wrong") as client:
            with pytest.raises(WahaUnauthorized, match="WAHA_API_KEY"):
                await client.send_text("default", CHAT, "x")
        async with WahaClient(sim.url, "k") as client:
            with pytest.raises(WahaPermanentError) as unknown:
                await client.send_text("nope", CHAT, "x")
            assert unknown.value.status == 404
            sim.set_status("default", "FAILED")
            with pytest.raises(WahaSessionNotWorking) as not_working:
                await client.send_text("default", CHAT, "x")
            assert not_working.value.session_status == "FAILED"
            sim.set_status("default", "WORKING")
            sim.faults.update({"fail_sends_for_s": 60, "fail_status": 503}, now=0)
            sim.faults.fail_sends_until = float("inf")
            with pytest.raises(WahaTransientError) as failed:
                await client.send_text("default", CHAT, "x")
            assert failed.value.status == 503 and "simulated engine failure" in failed.value.body
            sim.faults.fail_status = 429
            with pytest.raises(WahaRateLimited) as limited:
                await client.send_text("default", CHAT, "x")
            assert limited.value.retry_after == 1
    finally:
        await sim.stop()


async def test_network_errors_and_timeouts_are_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with WahaClient(f"http://127.0.0.1:{port}", "k", timeout_s=2) as client:
        with pytest.raises(WahaTransientError, match="network error") as refused:
            await client.send_text("default", CHAT, "x")
        assert refused.value.status is None
    sim = await _sim()
    sim.faults.latency_ms = 2_000
    try:
        async with WahaClient(sim.url, "k", timeout_s=0.2) as client:
            with pytest.raises(WahaTransientError, match="timed out"):
                await client.send_text("default", CHAT, "x")
    finally:
        await sim.stop()

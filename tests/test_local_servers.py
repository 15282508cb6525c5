"""The servers the suite runs against answer over real sockets."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import psycopg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo import AsyncMongoClient

from ordertalk_runtime.kafka import KafkaSettings, ensure_topics
from tests.support.mail import MailCatcher
from tests.support.postgres import PostgresParams


async def test_kafka_broker_round_trip(kafka_settings: KafkaSettings) -> None:
    await ensure_topics(kafka_settings, ["smoke"])
    producer = AIOKafkaProducer(**kafka_settings.producer_kwargs())
    await producer.start()
    try:
        await producer.send_and_wait("smoke", b"hello", key=b"k")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer("smoke", **kafka_settings.client_kwargs(), auto_offset_reset="earliest")
    await consumer.start()
    try:
        record = await consumer.getone()
    finally:
        await consumer.stop()
    assert record.value == b"hello"


async def test_mongo_server_round_trip(mongo_url: str) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo_url)
    try:
        coll = client["smoke"]["docs"]
        await coll.insert_one({"_id": "a", "n": 1})
        assert await coll.find_one({"_id": "a"}) == {"_id": "a", "n": 1}
    finally:
        await client.close()


def test_postgres_database_is_fresh(postgres_db: PostgresParams) -> None:
    with psycopg.connect(postgres_db.conninfo()) as conn:
        row = conn.execute("select count(*) from pg_tables where schemaname = 'public'").fetchone()
    assert row == (0,)


def test_mail_catcher_keeps_what_it_receives(mail_catcher: MailCatcher) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@example.com", "b@example.com", "Hi"
    msg.set_content("body")
    with smtplib.SMTP(mail_catcher.host, mail_catcher.port) as smtp:
        smtp.send_message(msg)
    [received] = mail_catcher.wait_for(1)
    assert received["Subject"] == "Hi"

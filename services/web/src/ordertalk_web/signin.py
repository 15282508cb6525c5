"""Dev sign-in for the local stack: demo people and the JWTs minted for them."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ordertalk_runtime.auth import Principal, Role, TokenCodec


@dataclass(frozen=True, slots=True)
class Persona:
    """Someone the local stack lets you sign in as."""

    subject: str
    role: str
    name: str
    email: str | None = None

    @property
    def principal(self) -> Principal:
        """The persona as the runtime's principal."""
        role: Role = "admin" if self.role == "admin" else "customer"
        return Principal(role=role, subject=self.subject, display_name=self.name, email=self.email)


PERSONAS: tuple[Persona, ...] = (
    Persona("admin-1", "admin", "Admin Admin"),
    Persona("customer-1", "customer", "Jane Doe", "jane@example.com"),
    Persona("customer-2", "customer", "John Smith", "john@example.com"),
    Persona("customer-3", "customer", "Ada Lovelace", "ada@example.com"),
)


class UnknownPersona(LookupError):
    """No demo persona has that subject."""


def find_persona(subject: str) -> Persona:
    """The demo persona with ``subject``."""
    for persona in PERSONAS:
        if persona.subject == subject:
            return persona
    raise UnknownPersona(subject)


def sign_in(codec: TokenCodec, subject: str, ttl_seconds: int = 12 * 3600) -> dict[str, object]:
    """A token for the persona ``subject`` and who it names (what the browser keeps)."""
    persona = find_persona(subject)
    return {"token": codec.mint(persona.principal, ttl_seconds=ttl_seconds), "user": asdict(persona)}

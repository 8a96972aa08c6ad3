"""What an export prints: a version's frozen blocks, its identity, and the signatures so far."""

from __future__ import annotations

from dataclasses import dataclass

from transcripts.bilu.layout import Block, content_sha256, running_head, version_line
from transcripts.bilu.model import DEFAULT_UTC_OFFSET_MINUTES, BiluDocument, Person
from transcripts.bilu.signatures import SignatureRecord, VersionSeal, signature_record_blocks


@dataclass(frozen=True)
class Printable:
    case_number: str
    title: str
    blocks: tuple[Block, ...]
    """The hashed text (a locked version's stored blocks, or a draft's)."""
    signers: tuple[Person, ...]
    version: int | None = None
    """``None``: a draft, printed as such on every page and not signable."""
    sha256: str | None = None
    signatures: tuple[SignatureRecord, ...] = ()
    utc_offset_minutes: int = DEFAULT_UTC_OFFSET_MINUTES
    document: BiluDocument | None = None
    """The structured form, for the machine-readable exports."""
    version_seal: VersionSeal | None = None
    public_key: bytes | None = None

    def __post_init__(self) -> None:
        if (self.version is None) != (self.sha256 is None):
            raise ValueError("a version number and its hash go together")
        if self.sha256 is not None and content_sha256(self.blocks) != self.sha256:
            raise ValueError(
                f"the blocks hash to {content_sha256(self.blocks)}, not to the version's {self.sha256}"
            )
        for record in self.signatures:
            if record.sha256 != self.sha256:
                raise ValueError(f"a signature of {record.signer.label} is for another version")

    @property
    def locked(self) -> bool:
        return self.sha256 is not None

    @property
    def head(self) -> str:
        return running_head(self.case_number, self.title)

    @property
    def foot(self) -> str:
        return version_line(self.version, self.sha256)

    def record_blocks(self) -> tuple[Block, ...]:
        return signature_record_blocks(
            self.version, self.sha256, self.signers, self.signatures, self.utc_offset_minutes
        )

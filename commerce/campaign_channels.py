"""Where a campaign goes: one sender per channel, registered by the app that owns the channel.

Commerce registers the web updates page and email; ``bots`` registers Telegram in its
``AppConfig.ready`` (commerce imports no channel app). A sender gets one recipient row and
answers with an :class:`Outcome`; it never writes the row (the campaign service does, under
its claim), and it renders everything around the artisan's text in the recipient's language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from commerce.models import CampaignRecipient
    from core.models import User


@dataclass(frozen=True)
class Outcome:
    """What a channel did with one recipient.

    ``sent``: delivered (the row becomes ``sent``). Otherwise ``permanent`` failures are
    final (``failed``; ``unsubscribe`` also withdraws the person's consent for the channel,
    as on a Telegram 403) and the rest are tried again later.
    """

    sent: bool
    permanent: bool = False
    unsubscribe: bool = False
    reason: str = ""
    external_id: str = ""


#: Writes one row's outcome; a channel calls it as each answer arrives (never batched up,
#: so a worker killed mid-batch leaves only the rows really in flight unrecorded).
Record = Callable[["CampaignRecipient", Outcome], None]
#: Extends the claim on rows still in flight (a flood wait may outlast the lease).
Renew = Callable[[list["CampaignRecipient"]], None]


@dataclass(frozen=True)
class CampaignChannelSpec:
    """A channel: its consent purpose, who it can reach, and how it sends.

    ``send`` handles one row; a channel that can send many at once (Telegram's outbox keeps
    its own rate limits) gives ``batch``, which calls ``record`` for each row as its answer
    arrives, also after it stopped waiting (a long flood wait), from another thread, and
    ``renew`` for the rows still in flight, so that no other worker takes them over.
    """

    name: str
    consent_purpose: str
    send: Callable[[CampaignRecipient], Outcome]
    # Narrows an audience to the people this channel can reach (e.g. a Telegram account).
    reachable: Callable[[QuerySet[User]], QuerySet[User]] = lambda users: users
    batch: Callable[[list[CampaignRecipient], Record, Renew], None] | None = None

    def send_many(self, recipients: list[CampaignRecipient], record: Record, renew: Renew) -> None:
        if self.batch is not None:
            self.batch(recipients, record, renew)
            return
        for recipient in recipients:
            try:
                outcome = self.send(recipient)
            except Exception as error:  # noqa: BLE001 - one row's failure, not the batch's
                outcome = Outcome(sent=False, reason=type(error).__name__)
            record(recipient, outcome)


_channels: dict[str, CampaignChannelSpec] = {}


def register_campaign_channel(spec: CampaignChannelSpec) -> None:
    _channels[spec.name] = spec


def campaign_channel(name: str) -> CampaignChannelSpec | None:
    return _channels.get(name)


def campaign_channels() -> dict[str, CampaignChannelSpec]:
    return dict(_channels)


def unregister_campaign_channel(name: str) -> Any:
    """For tests that swap a channel's sender."""
    return _channels.pop(name, None)

"""Static guard: nothing but ``transition_offer``/``transition_payment``/``transition_campaign``
writes the status of an offer, a payment or a campaign, anywhere in the application code (tests and migrations excepted).

The check reads the source (AST) and flags, outside those two functions:
- ``x.status = …`` where the value names ``OfferStatus``/``PaymentStatus`` (or a module
  alias of them) or ``x`` is called like an offer or a payment;
- ``status=…`` passed to ``create``/``update``/``get_or_create``/``update_or_create`` or to
  the ``Offer``/``Payment`` constructors, when the value names those enums or the call is
  made on ``Offer``/``Payment`` or on something called like offers or payments;
- ``save(update_fields=[…"status"…])`` on something called like an offer or a payment, and
  ``bulk_update(…, ["status"])`` on ``Offer``/``Payment``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("core", "conversations", "commerce", "nlu", "bots", "webchat")
ALLOWED = {
    ("commerce/services/offers.py", "transition_offer"),
    ("commerce/services/payments.py", "transition_payment"),
    ("commerce/services/marketing.py", "transition_campaign"),
}
ENUMS = {"OfferStatus", "PaymentStatus", "CampaignStatus"}
MODELS = {"Offer", "Payment", "Campaign"}
WRITE_METHODS = {"create", "update", "get_or_create", "update_or_create"}


def _names(node: ast.AST) -> set[str]:
    found = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            found.add(child.id)
        elif isinstance(child, ast.Attribute):
            found.add(child.attr)
    return found


def _looks_like_offer_or_payment(node: ast.AST) -> bool:
    return any(
        any(word in name.lower() for word in ("offer", "payment", "campaign")) or name in MODELS
        for name in _names(node)
    )


def _aliases(tree: ast.Module) -> set[str]:
    """``OS = OfferStatus`` at module level makes ``OS`` a name of the enum too."""
    aliases = set(ENUMS)
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Name)
            and node.value.id in ENUMS
        ):
            aliases.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return aliases


def _has_status_literal(node: ast.AST) -> bool:
    return any(
        isinstance(child, ast.Constant) and child.value == "status" for child in ast.walk(node)
    )


class _StatusWrites(ast.NodeVisitor):
    def __init__(self, path: str, enums: set[str]):
        self.path, self.enums = path, enums
        self.function: str | None = None
        self.violations: list[str] = []

    def _flag(self, node: ast.AST, what: str) -> None:
        if (self.path, self.function) not in ALLOWED:
            self.violations.append(f"{self.path}:{node.lineno}: {what}")

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        outer, self.function = self.function, self.function or node.name
        self.generic_visit(node)
        self.function = outer

    visit_AsyncFunctionDef = visit_FunctionDef

    def _check_target(self, target: ast.AST, value: ast.AST | None, node: ast.AST) -> None:
        if isinstance(target, ast.Attribute) and target.attr == "status":
            names_enum = value is not None and bool(_names(value) & self.enums)
            if names_enum or _looks_like_offer_or_payment(target.value):
                self._flag(node, f"assigns {ast.unparse(target)}")

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._check_target(target, node.value, node)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._check_target(node.target, node.value, node)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._check_target(node.target, node.value, node)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        method = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        receiver = func.value if isinstance(func, ast.Attribute) else None
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        if "status" in keywords and (method in WRITE_METHODS or method in MODELS):
            on_model = method in MODELS or (
                receiver is not None and _looks_like_offer_or_payment(receiver)
            )
            if on_model or _names(keywords["status"]) & self.enums:
                self._flag(node, f"passes status= to {ast.unparse(func)}")
        if (
            method == "save"
            and receiver is not None
            and "update_fields" in keywords
            and _has_status_literal(keywords["update_fields"])
            and _looks_like_offer_or_payment(receiver)
        ):
            self._flag(node, f"saves the status of {ast.unparse(receiver)}")
        if (
            method == "bulk_update"
            and receiver is not None
            and _looks_like_offer_or_payment(receiver)
            and any(_has_status_literal(arg) for arg in [*node.args, *keywords.values()])
        ):
            self._flag(node, f"bulk-updates the status on {ast.unparse(receiver)}")
        self.generic_visit(node)


def status_writes(source: str, path: str) -> list[str]:
    tree = ast.parse(source)
    visitor = _StatusWrites(path, _aliases(tree))
    visitor.visit(tree)
    return visitor.violations


def application_files() -> list[Path]:
    files = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts and "tests" not in path.parts:
                files.append(path)
    return files


def test_only_the_transition_functions_write_offer_or_payment_status():
    files = application_files()
    assert any(p.name == "offers.py" for p in files)  # the scan sees the services
    violations = []
    for path in files:
        relative = path.relative_to(ROOT).as_posix()
        violations += status_writes(path.read_text(encoding="utf-8"), relative)
    assert violations == []


def test_the_transition_functions_themselves_are_seen_writing():
    # The allow-list is what hides them: without it each file has exactly its one writer.
    for relative, function in ALLOWED:
        tree = ast.parse((ROOT / relative).read_text(encoding="utf-8"))
        (node,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function]
        visitor = _StatusWrites("elsewhere.py", _aliases(tree))  # not allow-listed
        visitor.visit(node)
        assert visitor.violations, function


@pytest.mark.parametrize(
    "snippet",
    [
        "def f(offer):\n    offer.status = 'accepted'\n",
        "def f(old):\n    old.status = OfferStatus.SUPERSEDED\n",
        "OS = OfferStatus\ndef f(x):\n    x.status = OS.EXPIRED\n",
        "def f(payment):\n    payment.status = PaymentStatus.FAILED\n",
        "def f(pk):\n    Offer.objects.filter(pk=pk).update(status='expired')\n",
        "def f(order):\n    order.payments.update(status='refunded')\n",
        "def f(qs):\n    qs.update(status=PaymentStatus.REFUNDED)\n",
        "def f(c):\n    Offer.objects.create(conversation=c, status=OfferStatus.SENT)\n",
        "def f(c):\n    return Offer(conversation=c, status='sent')\n",
        "def f(payment):\n    payment.save(update_fields=['status', 'succeeded_at'])\n",
        "def f(rows):\n    Offer.objects.bulk_update(rows, ['status'])\n",
    ],
)
def test_the_guard_catches_each_kind_of_write(snippet):
    assert len(status_writes(snippet, "commerce/services/elsewhere.py")) == 1


@pytest.mark.parametrize(
    "snippet",
    [
        "def f(order):\n    order.status = OrderStatus.PAID\n",
        "def f(pending):\n    pending.status = RefundStatus.SUCCEEDED\n",
        "def f(o):\n    return Offer.objects.filter(status=OfferStatus.SENT)\n",
        "def f(refund):\n    refund.save(update_fields=['status'])\n",
    ],
)
def test_the_guard_lets_other_status_machines_and_reads_be(snippet):
    assert status_writes(snippet, "commerce/services/elsewhere.py") == []

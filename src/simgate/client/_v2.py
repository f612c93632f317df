"""`client.v2`: the v2 endpoints grouped as the official client groups them
(`client.v2.contacts.search(...)`, `await aclient.v2.campaigns.start(...)`).

Each endpoint is written once, in _v2_calls.py, as a function that builds its
request. Here the sync and async groups only name those functions: the
`blocking` and `awaited` descriptors turn one into a method with the same
signature and docstring that sends the request through the client (so retries,
timeouts and errors are the client's) and returns the parsed answer.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Generic, ParamSpec, Protocol, TypeVar, overload

from simgate.client import _v2_calls as calls
from simgate.client._v2_calls import Request

P = ParamSpec("P")
T = TypeVar("T")


class Runner(Protocol):
    def __call__(self, request: Request[T]) -> T: ...


class AsyncRunner(Protocol):
    def __call__(self, request: Request[T]) -> Awaitable[T]: ...


class Group:
    def __init__(self, run: Runner) -> None:
        self._run = run


class AsyncGroup:
    def __init__(self, run: AsyncRunner) -> None:
        self._run = run


def answer_signature(build: Callable[..., Any]) -> inspect.Signature:
    """build's signature, returning what the method returns: `Request[X]` -> `X`."""
    signature = inspect.signature(build)
    answer = signature.return_annotation
    if isinstance(answer, str) and answer.startswith("Request[") and answer.endswith("]"):
        answer = answer[len("Request[") : -1]
    return signature.replace(return_annotation=answer)


class blocking(Generic[P, T]):  # noqa: N801 - used like a decorator
    """A Group method that sends the request `build` makes and returns its answer."""

    def __init__(self, build: Callable[P, Request[T]]) -> None:
        self.build = build
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, group: None, owner: type[Any]) -> blocking[P, T]: ...
    @overload
    def __get__(self, group: Group, owner: type[Any]) -> Callable[P, T]: ...
    def __get__(self, group: Group | None, owner: type[Any]) -> blocking[P, T] | Callable[P, T]:
        if group is None:
            return self
        build, run = self.build, group._run

        @functools.wraps(build)
        def method(*args: P.args, **kwargs: P.kwargs) -> T:
            return run(build(*args, **kwargs))

        method.__signature__ = answer_signature(build)  # type: ignore[attr-defined]
        return method


class awaited(Generic[P, T]):  # noqa: N801 - used like a decorator
    """blocking's twin for AsyncGroup: the method returns a coroutine."""

    def __init__(self, build: Callable[P, Request[T]]) -> None:
        self.build = build
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, group: None, owner: type[Any]) -> awaited[P, T]: ...
    @overload
    def __get__(self, group: AsyncGroup, owner: type[Any]) -> Callable[P, Awaitable[T]]: ...
    def __get__(
        self, group: AsyncGroup | None, owner: type[Any]
    ) -> awaited[P, T] | Callable[P, Awaitable[T]]:
        if group is None:
            return self
        build, run = self.build, group._run

        @functools.wraps(build)
        async def method(*args: P.args, **kwargs: P.kwargs) -> T:
            return await run(build(*args, **kwargs))

        method.__signature__ = answer_signature(build)  # type: ignore[attr-defined]
        return method


# --- the blocking groups (Client.v2) -------------------------------------------


class Account(Group):
    info = blocking(calls.account_info)
    webhooks = blocking(calls.account_webhooks)
    set_webhooks = blocking(calls.account_set_webhooks)


class Contacts(Group):
    list = blocking(calls.contacts_list)
    search = blocking(calls.contacts_search)
    find_phone = blocking(calls.contacts_find_phone)
    detail = blocking(calls.contacts_detail)
    switch_pro = blocking(calls.contacts_switch_pro)
    delete = blocking(calls.contacts_delete)
    tags = blocking(calls.contacts_tags)
    custom_fields = blocking(calls.contacts_custom_fields)


class Sms(Group):
    list = blocking(calls.sms_list)
    detail = blocking(calls.sms_detail)
    conversation = blocking(calls.sms_conversation)
    send = blocking(calls.sms_send)
    delivery_status = blocking(calls.sms_delivery_status)


class Calls(Group):
    list = blocking(calls.calls_list)
    qualify = blocking(calls.calls_qualify)
    click_to_call = blocking(calls.calls_click_to_call)


class Qualifications(Group):
    list = blocking(calls.qualifications_list)
    options = blocking(calls.qualifications_options)
    create_option = blocking(calls.qualifications_create_option)
    update_option = blocking(calls.qualifications_update_option)
    delete_option = blocking(calls.qualifications_delete_option)
    stats = blocking(calls.qualifications_stats)


class Lists(Group):
    list = blocking(calls.lists_list)
    create = blocking(calls.lists_create)
    detail = blocking(calls.lists_detail)
    update = blocking(calls.lists_update)
    delete = blocking(calls.lists_delete)
    add_contacts = blocking(calls.lists_add_contacts)
    remove_contacts = blocking(calls.lists_remove_contacts)
    add_all = blocking(calls.lists_add_all)


class Campaigns(Group):
    list = blocking(calls.campaigns_list)
    create = blocking(calls.campaigns_create)
    detail = blocking(calls.campaigns_detail)
    start = blocking(calls.campaigns_start)
    cancel = blocking(calls.campaigns_cancel)


class Templates(Group):
    list = blocking(calls.templates_list)
    create = blocking(calls.templates_create)
    update = blocking(calls.templates_update)
    delete = blocking(calls.templates_delete)
    send = blocking(calls.templates_send)


class Stats(Group):
    overview = blocking(calls.stats_overview)
    clicks = blocking(calls.stats_clicks)


class OptOuts(Group):
    list = blocking(calls.optouts_list)
    add = blocking(calls.optouts_add)
    remove = blocking(calls.optouts_remove)
    check = blocking(calls.optouts_check)


class V2:
    """The v2 API of a Client, one attribute per group of the official client
    (and `optouts`, simgate's own)."""

    def __init__(self, run: Runner) -> None:
        self.account = Account(run)
        self.contacts = Contacts(run)
        self.sms = Sms(run)
        self.calls = Calls(run)
        self.qualifications = Qualifications(run)
        self.lists = Lists(run)
        self.campaigns = Campaigns(run)
        self.templates = Templates(run)
        self.stats = Stats(run)
        self.optouts = OptOuts(run)


# --- the asyncio groups (AsyncClient.v2): the same names, awaited ---------------


class AsyncAccount(AsyncGroup):
    info = awaited(calls.account_info)
    webhooks = awaited(calls.account_webhooks)
    set_webhooks = awaited(calls.account_set_webhooks)


class AsyncContacts(AsyncGroup):
    list = awaited(calls.contacts_list)
    search = awaited(calls.contacts_search)
    find_phone = awaited(calls.contacts_find_phone)
    detail = awaited(calls.contacts_detail)
    switch_pro = awaited(calls.contacts_switch_pro)
    delete = awaited(calls.contacts_delete)
    tags = awaited(calls.contacts_tags)
    custom_fields = awaited(calls.contacts_custom_fields)


class AsyncSms(AsyncGroup):
    list = awaited(calls.sms_list)
    detail = awaited(calls.sms_detail)
    conversation = awaited(calls.sms_conversation)
    send = awaited(calls.sms_send)
    delivery_status = awaited(calls.sms_delivery_status)


class AsyncCalls(AsyncGroup):
    list = awaited(calls.calls_list)
    qualify = awaited(calls.calls_qualify)
    click_to_call = awaited(calls.calls_click_to_call)


class AsyncQualifications(AsyncGroup):
    list = awaited(calls.qualifications_list)
    options = awaited(calls.qualifications_options)
    create_option = awaited(calls.qualifications_create_option)
    update_option = awaited(calls.qualifications_update_option)
    delete_option = awaited(calls.qualifications_delete_option)
    stats = awaited(calls.qualifications_stats)


class AsyncLists(AsyncGroup):
    list = awaited(calls.lists_list)
    create = awaited(calls.lists_create)
    detail = awaited(calls.lists_detail)
    update = awaited(calls.lists_update)
    delete = awaited(calls.lists_delete)
    add_contacts = awaited(calls.lists_add_contacts)
    remove_contacts = awaited(calls.lists_remove_contacts)
    add_all = awaited(calls.lists_add_all)


class AsyncCampaigns(AsyncGroup):
    list = awaited(calls.campaigns_list)
    create = awaited(calls.campaigns_create)
    detail = awaited(calls.campaigns_detail)
    start = awaited(calls.campaigns_start)
    cancel = awaited(calls.campaigns_cancel)


class AsyncTemplates(AsyncGroup):
    list = awaited(calls.templates_list)
    create = awaited(calls.templates_create)
    update = awaited(calls.templates_update)
    delete = awaited(calls.templates_delete)
    send = awaited(calls.templates_send)


class AsyncStats(AsyncGroup):
    overview = awaited(calls.stats_overview)
    clicks = awaited(calls.stats_clicks)


class AsyncOptOuts(AsyncGroup):
    list = awaited(calls.optouts_list)
    add = awaited(calls.optouts_add)
    remove = awaited(calls.optouts_remove)
    check = awaited(calls.optouts_check)


class AsyncV2:
    """The v2 API of an AsyncClient: V2's groups, each method awaited."""

    def __init__(self, run: AsyncRunner) -> None:
        self.account = AsyncAccount(run)
        self.contacts = AsyncContacts(run)
        self.sms = AsyncSms(run)
        self.calls = AsyncCalls(run)
        self.qualifications = AsyncQualifications(run)
        self.lists = AsyncLists(run)
        self.campaigns = AsyncCampaigns(run)
        self.templates = AsyncTemplates(run)
        self.stats = AsyncStats(run)
        self.optouts = AsyncOptOuts(run)

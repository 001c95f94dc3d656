"""Contact extraction for the lead agent (issue 15): real-looking zh and en messages and what they give.

Each row names every field the message should yield; the others must stay empty. Negative rows (prices,
years, room layouts, order numbers, verification codes) are the false captures a sales team would have to
clean up by hand.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adloom.core.datafiles import DataFileError, package_data_path, validate_data
from adloom.core.types import Language
from adloom.scripts_gen.conversation.contacts import (
    ContactsFile,
    Extracted,
    contacts_data,
    extract_contacts,
    normalise_digits,
)

FIELDS = ("phone", "wechat", "email", "city", "budget", "timing")

CASES: list[tuple[str, dict[str, Any]]] = [
    # --- phones, zh
    ("我的电话是13812345678", {"phone": "13812345678"}),
    ("手机：138 1234 5678，谢谢", {"phone": "13812345678"}),
    ("138-1234-5678", {"phone": "13812345678"}),
    ("+86 138 1234 5678", {"phone": "13812345678"}),
    ("008613812345678 打这个", {"phone": "13812345678"}),
    ("联系方式 一三八一二三四五六七八", {"phone": "13812345678"}),
    ("幺三八 幺二三四 五六七八", {"phone": "13812345678"}),
    ("号码138一二三四5678", {"phone": "13812345678"}),
    ("壹叁捌壹贰叁肆伍陆柒捌", {"phone": "13812345678"}),
    ("电话１３８１２３４５６７８", {"phone": "13812345678"}),
    ("1 3 8 1 2 3 4 5 6 7 8 打我", {"phone": "13812345678"}),
    ("138**1234**5678", {"phone": "13812345678"}),
    ("138.1234.5678", {"phone": "13812345678"}),
    ("我老婆的是13912345678，我的是18612345678", {"phone": "13912345678"}),
    ("座机010-12345678", {"phone": "+861012345678"}),
    ("店里电话 021 1234 5678", {"phone": "+862112345678"}),
    ("19912345678 这个号微信也能搜到", {"phone": "19912345678"}),
    # --- phones, en
    ("my number is (415) 555-0123", {"phone": "+14155550123"}),
    ("call me at 415-555-0123 after 6", {"phone": "+14155550123"}),
    ("+1 (415) 555-0123", {"phone": "+14155550123"}),
    ("you can reach me on +44 20 7946 0958", {"phone": "+442079460958"}),
    ("my cell is 13812345678, I'm in Shanghai", {"phone": "13812345678", "city": "Shanghai"}),
    # --- wrong-length numbers meant as phones
    ("我的电话是1381234567", {"invalid": ["phone"]}),
    ("手机 13812345 67", {"invalid": ["phone"]}),
    ("my number is 1381234567", {"invalid": ["phone"]}),
    ("my phone is 415 555 012", {"invalid": ["phone"]}),
    ("电话1381234567 不对，是13812345678", {"phone": "13812345678"}),
    # --- not phones
    ("这款车20万左右能拿下吗", {"budget": "20万左右"}),
    ("2025年的新款有吗", {}),
    ("三室两厅的装修大概多少钱", {}),
    ("我想了解一下", {}),
    ("订单号 13812345678901 还没发货", {}),
    ("我的订单号是13812345678", {}),
    ("验证码 123456", {}),
    ("your code is 482913", {}),
    ("order 4155550123 hasn't arrived", {}),
    ("价格是 29800 元吗", {}),
    ("一二三四五六", {}),
    ("发票号 20250115", {}),
    ("2025-01-15 到店", {}),
    # --- WeChat
    ("微信号：zhang_san88", {"wechat": "zhang_san88"}),
    ("加我微信 Tom-2024 备注买车", {"wechat": "Tom-2024"}),
    ("vx: abc123456", {"wechat": "abc123456"}),
    ("V信 WangLi_1990", {"wechat": "WangLi_1990"}),
    ("wx同号 13812345678", {"phone": "13812345678", "wechat": "13812345678"}),
    ("微信就是手机号 138 1234 5678", {"phone": "13812345678", "wechat": "13812345678"}),
    ("微信 13812345678", {"phone": "13812345678", "wechat": "13812345678"}),
    ("电话13812345678，微信同号", {"phone": "13812345678", "wechat": "13812345678"}),
    ("my wechat ID: LisaChen", {"wechat": "LisaChen"}),
    ("add me on wechat: lisa_c88", {"wechat": "lisa_c88"}),
    ("add me on wechat please", {}),
    ("加我微信吧", {}),
    ("微信号 ab", {"invalid": ["wechat"]}),
    ("wechat: 1abcdefg", {"invalid": ["wechat"]}),
    ("微信号：a_very_long_wechat_id_2024x", {"invalid": ["wechat"]}),
    ("微信号 12345678", {"invalid": ["wechat"]}),
    # --- email
    ("邮箱 zhangsan@QQ.com", {"email": "zhangsan@qq.com"}),
    ("email me: John.Smith@Example.COM", {"email": "John.Smith@example.com"}),
    ("name at gmail dot com", {"email": "name@gmail.com"}),
    ("lisa[at]outlook[dot]com", {"email": "lisa@outlook.com"}),
    ("发我邮箱 wang＠163.com", {"email": "wang@163.com"}),
    ("13812345678@163.com", {"email": "13812345678@163.com"}),
    ("find us at example.com", {}),
    ("my email is tom@gmail", {"invalid": ["email"]}),
    ("look at this dot", {}),
    # --- city
    ("我在杭州，想装修", {"city": "杭州"}),
    ("住在浦东", {}),
    ("我们在魔都", {"city": "上海"}),
    ("南京路那家店在哪", {}),
    ("兰州拉面好吃", {}),
    ("现在北京时间几点", {}),
    ("I'm in Austin", {"city": "Austin"}),
    ("Austin here, what's the price?", {}),
    ("London", {"city": "London"}),
    ("we live in new york", {"city": "New York"}),
    ("I'm from Chengdu", {"city": "Chengdu"}),
    ("成都有门店吗", {"city": "成都"}),
    ("夸下海口", {}),
    # --- budget
    ("预算20万", {"budget": "20万"}),
    ("预算二三十万", {"budget": "20-30万"}),
    ("20到30万之间", {"budget": "20-30万"}),
    ("十万以内", {"budget": "10万以内"}),
    ("预算1.5w", {"budget": "1.5万"}),
    ("两三万左右", {"budget": "2-3万左右"}),
    ("首付5万", {"budget": "5万"}),
    ("十万火急", {}),
    ("车已经跑了5万公里", {}),
    ("月薪2万", {}),
    ("my budget is around $30,000", {"budget": "around $30,000"}),
    ("$30,000", {"budget": "$30,000"}),
    ("around 30k", {"budget": "around 30k"}),
    ("between 20k and 30k", {"budget": "20k-30k"}),
    ("under $50k", {"budget": "under $50k"}),
    ("I earn $5000 a month", {}),
    ("it's 5 km away", {}),
    # --- timing
    ("下个月提车", {"timing": "下个月"}),
    ("年底前装好", {"timing": "年底前"}),
    ("三个月内", {"timing": "三个月内"}),
    ("尽快吧", {"timing": "尽快"}),
    ("next month probably", {"timing": "next month"}),
    ("ASAP please", {"timing": "ASAP"}),
    ("within two weeks", {"timing": "within two weeks"}),
    ("by June", {"timing": "by June"}),
    ("this spring", {"timing": "this spring"}),
    # --- several at once, mixed
    (
        "我在上海，电话138 1234 5678，预算30万左右，下个月买",
        {"phone": "13812345678", "city": "上海", "budget": "30万左右", "timing": "下个月"},
    ),
    (
        "Hi, I'm in London, email me at anna.lee@mail.co.uk, budget under £20k, ASAP",
        {"email": "anna.lee@mail.co.uk", "city": "London", "budget": "under £20k", "timing": "ASAP"},
    ),
    ("我的WeChat是 Kevin_88，在深圳", {"wechat": "Kevin_88", "city": "深圳"}),
    ("call me 13812345678 or email kevin@qq.com", {"phone": "13812345678", "email": "kevin@qq.com"}),
    ("", {}),
    ("   ", {}),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[f"{i}:{t[:24]}" for i, (t, _) in enumerate(CASES)])
def test_extracts(text: str, expected: dict[str, Any]) -> None:
    got = extract_contacts(text)
    for f in FIELDS:
        assert getattr(got, f) == expected.get(f), f"{f} of {text!r}: {got}"
    assert [i[0] for i in got.invalid] == expected.get("invalid", []), got.invalid
    assert got.fields() == [f for f in FIELDS if expected.get(f) is not None]


@pytest.mark.parametrize(
    ("text", "field", "why"),
    [
        ("我的电话是1381234567", "phone", "您发的号码是10位数字，手机号应该是11位"),
        ("手机 13812345 67", "phone", "您发的号码是10位数字，手机号应该是11位"),
        ("my phone is 415 555 012", "phone", "The number you sent has 9 digits; a US number has 10"),
        ("wechat: ab", "wechat", "A WeChat ID has 6–20 letters, digits, _ or -, and starts with a letter"),
        ("微信号：ab", "wechat", "微信号是6到20位的字母、数字、下划线或减号，并以字母开头"),
        ("wechat: 1abcdefg", "wechat", "starts with a letter"),
        ("my email is tom@gmail", "email", "That email address doesn't look quite right"),
    ],
)
def test_invalid_reasons_say_the_rule_in_the_persons_language(text: str, field: str, why: str) -> None:
    (entry,) = extract_contacts(text).invalid
    assert entry[0] == field
    assert entry[1] in text  # the raw text, for the log
    assert why in entry[2]
    assert not any(d in entry[2] for d in ("138", "415", "tom@"))  # never repeated back to the person


@pytest.mark.parametrize(
    ("text", "wechat"),
    [("加我微信吧：tea4q9om48", "tea4q9om48"), ("微信呀 lily_2024", "lily_2024"), ("vx的是 Tom-88", "Tom-88")],
)
def test_wechat_after_a_particle(text: str, wechat: str) -> None:
    assert extract_contacts(text).wechat == wechat


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("一三八一二三四五六七八", "13812345678"),
        ("138一二三四5678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("等一下", "等一下"),
        ("三室两厅", "三室两厅"),
        ("三三两两", "三三两两"),
        ("二〇二五年", "二〇二五年"),
        ("2025-01-15", "2025-01-15"),
        ("1.5万", "1.5万"),
        ("138 1234 5678 139 1234 5678", "13812345678 13912345678"),
        ("", ""),
    ],
)
def test_normalise_digits(text: str, expected: str) -> None:
    assert normalise_digits(text) == expected


def test_region_reads_numbers_without_a_plus() -> None:
    assert extract_contacts("call 020 7946 0958", region="GB").phone == "+442079460958"
    assert extract_contacts("call 4155550123", Language.en).phone == "+14155550123"
    assert extract_contacts("电话 021 1234 5678", Language.zh).phone == "+862112345678"


def test_extracted_defaults_are_empty() -> None:
    assert Extracted().fields() == []
    assert extract_contacts("") == Extracted()


@pytest.mark.parametrize("text", ["1 " * 5000, "微信" * 5000, "a@" * 5000, "一" * 10000, "x.x@" * 2500, "$1," * 3333])
def test_long_input_returns(text: str) -> None:
    assert isinstance(extract_contacts(text), Extracted)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789 -+()@.一三八两幺微信号wxat万kK$预算 电话abc_")), max_size=60))
def test_never_raises(text: str) -> None:
    assert isinstance(extract_contacts(text), Extracted)


def test_shipped_data_is_valid_and_bad_regex_is_named() -> None:
    data = contacts_data()
    assert len([c for c in data.city.cities if not c.world]) >= 60
    raw = data.model_dump()
    raw["timing"]["patterns"] = ["(unclosed"]
    with pytest.raises(DataFileError, match="not a valid regular expression"):
        validate_data(raw, ContactsFile, nodes=None, source=str(package_data_path("agent", "contacts.yaml")))
    raw = data.model_dump()
    raw["city"]["typo"] = 1
    with pytest.raises(DataFileError, match="typo"):
        validate_data(raw, ContactsFile, nodes=None, source="contacts.yaml")


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("415-956-223, call me on that", None),  # a US number missing a digit is no landline in 丹东 (0415)
        ("我的电话 (415) 555-0123", "+14155550123"),  # ten digits without a trunk 0 are no mainland number
        ("电话 021-12345678", "+862112345678"),
        ("座机 6552 9988", None),  # a landline without its area code cannot be called back
    ],
)
def test_numbers_are_read_only_in_a_region_where_their_shape_fits(text: str, phone: str | None) -> None:
    assert extract_contacts(text).phone == phone


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("312-632-167, call me on that", "phone"),
        ("1381234567，打这个就行", "phone"),
        ("415 555 012 is my cell", "phone"),
    ],
)
def test_a_wrong_length_number_marked_as_a_phone_after_it_is_reported(text: str, field: str) -> None:
    got = extract_contacts(text)
    assert got.phone is None and [i[0] for i in got.invalid] == [field]


def test_a_number_before_a_phone_word_is_still_read() -> None:
    assert extract_contacts("(312) 632-1673, call me on that").phone == "+13126321673"
    assert extract_contacts("订单号 20240518123，联系我").phone is None  # an order number stays an order number

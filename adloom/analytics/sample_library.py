"""The sample creative library: seeded, compliant exemplar ads with simulated results.

A fresh install has no past creatives to retrieve from, and tests need a
library whose ground truth is known. This module writes one: every item is a
full core :class:`Script` built from per-industry phrase banks in Chinese and
English, and its :class:`Performance` is drawn from the documented response
model in :mod:`adloom.analytics.simulator`.

Guarantees, each checked by ``tests/analytics/test_sample_library.py``:

* all ten industries (round-robin) and both languages (alternating blocks of
  ten), so item ``i`` is the same whatever ``n`` is;
* durations 8–45 s, 3–8 shots, roles hook → problem/demo/feature/proof/offer
  → cta; narration never longer than its shot at the speaking rate
  (:data:`SPEAKING_RATE`), captions within :data:`CAPTION_LIMIT`;
* the price appears in the copy exactly when ``price_mentioned`` is set, and
  the CTA line matches ``cta_strength``;
* no absolute claims (最, 第一, best, #1, guaranteed …) and no promised
  returns in finance copy: the library is meant to be imitated;
* the same seed gives byte-identical JSON, ids included (``lib_s<seed>_<i>``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import numpy as np

from adloom.analytics.simulator import CreativeAttributes, ResponseModel, simulate_performance
from adloom.core.text import EN_WORDS_PER_S, ZH_CHARS_PER_S, speech_seconds, upper_first
from adloom.core.types import (
    Angle,
    Aspect,
    CtaStrength,
    HookType,
    Industry,
    Language,
    LibraryItem,
    Pacing,
    Platform,
    Provenance,
    Script,
    Shot,
    ShotRole,
    SubjectSheet,
)

#: Speaking rate used to fit narration into shots: zh characters or en words per second.
SPEAKING_RATE: dict[Language, float] = {Language.zh: ZH_CHARS_PER_S, Language.en: EN_WORDS_PER_S}
#: Longest on-screen caption: zh characters or en words.
CAPTION_LIMIT: dict[Language, int] = {Language.zh: 14, Language.en: 6}
#: Breath between narration lines, added to every shot's spoken time.
_PAD_S = 0.3
_MIN_S, _MAX_S = 8.0, 45.0
_MIN_SHOTS, _MAX_SHOTS = 3, 8
T = TypeVar("T")


def speech_units(text: str, language: Language) -> int:
    """How much there is to say: word characters for zh, words for en."""
    if language is Language.zh:
        return len(re.findall(r"\w", text))
    return sum(1 for tok in text.split() if re.search(r"\w", tok))


def speaking_time_s(text: str, language: Language) -> float:
    """Seconds needed to read ``text`` aloud (the shared rule in :mod:`adloom.core.text`)."""
    return speech_seconds(text, language)


def caption_fits(text: str, language: Language) -> bool:
    """Whether a caption is short enough to read in a glance."""
    size = len(text) if language is Language.zh else len(text.split())
    return size <= CAPTION_LIMIT[language]


@dataclass(frozen=True)
class _Product:
    """Copy for one product in one language; every line is a full sentence."""

    name: str  # as used inside a sentence ("the hydrating serum", "《云海录》")
    look: str  # what the camera sees
    pain: str
    question: str
    fact: str
    before_after: str
    quote: str
    demo: str
    story: str
    features: tuple[str, ...]
    proof: str
    price_hook: str  # a hook that leads with the price
    offer: str  # an offer sentence that states the price
    price_cap: str  # short caption with the price
    points: tuple[str, ...]  # short selling points, also used as captions


# ---------------------------------------------------------------------------
# Phrase banks: three products per industry and language.
# ---------------------------------------------------------------------------

_ZH: dict[Industry, tuple[_Product, ...]] = {
    Industry.beauty: (
        _Product(
            name="保湿精华",
            look="一瓶白色滴管保湿精华",
            pain="换季脸干到起皮，上妆总是卡粉。",
            question="换季脸一干就起皮？",
            fact="这瓶精华里有三种分子量的玻尿酸。",
            before_after="以前上妆卡粉，现在妆面服帖多了。",
            quote="同事问我：你皮肤怎么变得这么水润？",
            demo="挤一滴在手背上，轻轻一推就化开。",
            story="加班到深夜，她照镜子发现脸又干了。",
            features=(
                "质地清爽不黏，十秒左右就能吸收。",
                "三种玻尿酸，一层层给皮肤补水。",
                "不添加香精，气味很淡。",
                "早晚各用一次，一瓶能用两个月。",
            ),
            proof="已经有两万多位用户回购。",
            price_hook="两瓶只要129元？先别划走。",
            offer="今天下单两瓶到手价129元，再送同款小样。",
            price_cap="两瓶到手129元",
            points=("三重玻尿酸", "清爽不黏", "不添加香精", "一瓶用两个月"),
        ),
        _Product(
            name="防晒乳",
            look="一支蓝色软管防晒乳",
            pain="夏天通勤十分钟，脸就晒得发红。",
            question="每天通勤，防晒涂够了吗？",
            fact="阴天的紫外线，也能穿过云层。",
            before_after="以前防晒闷得泛油光，现在脸上清清爽爽。",
            quote="闺蜜说：这支防晒涂完像没涂一样轻。",
            demo="在手臂上挤一条，抹开几秒就成膜。",
            story="周末去海边前，她把防晒塞进了包里。",
            features=(
                "SPF50+ PA++++，户外通勤都够用。",
                "质地像乳液，不泛白不搓泥。",
                "防汗配方，出汗后也不容易花。",
                "小支便携，补涂很方便。",
            ),
            proof="上个季度卖出了三万多支。",
            price_hook="一支防晒79元，整个夏天都能用。",
            offer="现在下单79元一支，第二支半价。",
            price_cap="79元 第二支半价",
            points=("SPF50+ PA++++", "不泛白不搓泥", "防汗配方", "小支便携"),
        ),
        _Product(
            name="丝绒唇釉",
            look="一支哑光黑管丝绒唇釉",
            pain="口红喝口水就掉色，一天要补好几次。",
            question="喝口水口红就没了？",
            fact="这支唇釉有十二个色号，黄皮也好挑。",
            before_after="以前嘴唇一涂就起皮，现在薄涂很柔和。",
            quote="室友说：这个颜色显得你气色很好。",
            demo="薄薄涂一层，用纸巾按一下也不太沾杯。",
            story="约会出门前，她只补了一支唇釉。",
            features=(
                "丝绒质地，涂开很轻薄。",
                "十二个色号，通勤约会都能配。",
                "添加植物油，嘴唇不容易干。",
                "小巧管身，放口袋里正好。",
            ),
            proof="上市三个月，收到了八千多条评价。",
            price_hook="一支唇釉59元，还包邮。",
            offer="现在59元一支，两支再减10元。",
            price_cap="59元 包邮",
            points=("丝绒质地", "十二个色号", "不易沾杯", "小巧便携"),
        ),
    ),
    Industry.apparel: (
        _Product(
            name="碎花连衣裙",
            look="一条蓝色碎花连衣裙",
            pain="夏天出门不知道穿什么，衣柜总少一件。",
            question="夏天出门还在纠结穿什么？",
            fact="这条裙子的面料，一件只有两百克重。",
            before_after="以前穿裙子显腿粗，现在收腰版型很显瘦。",
            quote="朋友问我：这条裙子在哪买的？",
            demo="转一圈，裙摆自然散开。",
            story="周末约了朋友野餐，她换上了这条碎花裙。",
            features=(
                "高腰设计，腰线看起来更高。",
                "棉麻混纺，夏天穿着透气。",
                "及膝长度，通勤约会都合适。",
                "有三个颜色，S到XL都有货。",
            ),
            proof="上新一周就有两千多人下单。",
            price_hook="一条连衣裙149元，先看上身效果。",
            offer="今天下单149元，还包运费险。",
            price_cap="到手价149元",
            points=("高腰显高", "棉麻透气", "及膝长度", "三色可选"),
        ),
        _Product(
            name="牛仔外套",
            look="一件浅蓝色牛仔外套",
            pain="早晚温差大，出门总不知道带哪件外套。",
            question="早晚温差大，外套怎么选？",
            fact="这件外套洗了二十次，颜色依然很稳。",
            before_after="以前外套一穿就显胖，现在短款利落又精神。",
            quote="同学说：这件外套配什么都好看。",
            demo="搭在白T外面，袖子随手一卷。",
            story="下课后起风了，她从包里拿出这件外套。",
            features=(
                "短款版型，腿看起来更长。",
                "水洗工艺，手感柔软不硬。",
                "四个口袋，手机钥匙都放得下。",
                "男女同款，有四个尺码。",
            ),
            proof="已经有五千多位买家晒了图。",
            price_hook="199元一件牛仔外套，春秋都能穿。",
            offer="现在下单199元，满两件再打九折。",
            price_cap="199元 两件九折",
            points=("短款显高", "水洗柔软", "四个口袋", "男女同款"),
        ),
        _Product(
            name="跑步鞋",
            look="一双白灰配色跑步鞋",
            pain="跑了三公里，脚底就开始发酸。",
            question="跑步跑到脚底发酸？",
            fact="这双鞋一只只有230克，拿在手里很轻。",
            before_after="以前跑完脚很累，现在回弹轻松多了。",
            quote="跑团队友说：这双鞋踩着很软。",
            demo="用手按压鞋底，松手立刻回弹。",
            story="清晨六点，他系好鞋带出了门。",
            features=(
                "中底回弹，每一步都更省力。",
                "网面透气，夏天跑步不闷脚。",
                "鞋底有防滑纹路，雨天也稳。",
                "单只230克，穿上很轻。",
            ),
            proof="跑团里已经有上百人在穿。",
            price_hook="299元的跑鞋，先看看这个回弹。",
            offer="今天下单299元，再送一双运动袜。",
            price_cap="299元 送运动袜",
            points=("回弹中底", "网面透气", "防滑鞋底", "单只230克"),
        ),
    ),
    Industry.food: (
        _Product(
            name="手撕牛肉干",
            look="一袋风干手撕牛肉干",
            pain="下午嘴馋，又不想吃太甜的零食。",
            question="下午嘴馋想吃点什么？",
            fact="两斤多鲜牛肉，才能做出一斤牛肉干。",
            before_after="以前零食一吃就腻，现在这袋越嚼越香。",
            quote="办公室同事说：这个牛肉干好有嚼劲。",
            demo="撕开一条，能看到清晰的肉纹。",
            story="加班到晚上九点，他拆开了一袋牛肉干。",
            features=(
                "手撕风干，越嚼越香。",
                "有原味和麻辣两种口味。",
                "独立小包装，随身带着方便。",
                "配料表简单，一眼看得懂。",
            ),
            proof="这个月已经卖出了一万多袋。",
            price_hook="三袋牛肉干49元，够吃一星期。",
            offer="现在三袋49元，第二件再减5元。",
            price_cap="三袋49元",
            points=("手撕风干", "两种口味", "独立小包装", "配料简单"),
        ),
        _Product(
            name="烘焙燕麦片",
            look="一罐坚果烘焙燕麦片",
            pain="早上赶时间，早餐经常随便对付。",
            question="早上来不及吃早餐？",
            fact="一碗燕麦片里，有六种坚果和果干。",
            before_after="以前早餐随便买个面包，现在一碗燕麦三分钟搞定。",
            quote="室友说：这个燕麦泡牛奶好香。",
            demo="倒进碗里，加上牛奶，坚果浮了上来。",
            story="七点半出门前，她给自己泡了一碗燕麦。",
            features=(
                "六种坚果果干，口感很丰富。",
                "低温烘焙，脆脆的不发软。",
                "开罐即食，泡奶泡酸奶都行。",
                "一罐能吃两个星期。",
            ),
            proof="超过六成的顾客选择了回购。",
            price_hook="一罐燕麦片39元，早餐三分钟搞定。",
            offer="今天下单39元一罐，两罐再送量勺。",
            price_cap="39元一罐",
            points=("六种坚果果干", "低温烘焙", "开罐即食", "一罐吃两周"),
        ),
        _Product(
            name="自热火锅",
            look="一盒麻辣自热火锅",
            pain="一个人加班到深夜，外卖都关门了。",
            question="深夜饿了，外卖都关门了？",
            fact="倒一杯冷水，十五分钟就能吃上火锅。",
            before_after="以前宵夜只能泡面，现在能吃上一锅热火锅。",
            quote="室友闻着香味跑过来问：这是哪家的？",
            demo="加冷水，盖上盖子，热气慢慢冒出来。",
            story="宿舍熄灯后，四个人围着一盒火锅。",
            features=(
                "麻辣牛油锅底，香味很足。",
                "有肥牛、土豆和宽粉。",
                "不用开火，宿舍办公室都能吃。",
                "一盒够两个人分着吃。",
            ),
            proof="上线半年，好评超过两万条。",
            price_hook="一盒火锅19.9元，加水就能吃。",
            offer="现在下单三盒59元，还送一次性餐具。",
            price_cap="三盒59元",
            points=("麻辣牛油锅底", "肥牛加宽粉", "不用开火", "两人份"),
        ),
    ),
    Industry.electronics: (
        _Product(
            name="降噪耳机",
            look="一副白色降噪耳机和充电盒",
            pain="地铁里太吵，听歌要把音量开到很大。",
            question="地铁里吵得听不清歌？",
            fact="这副耳机一次充电，能连续听八个小时。",
            before_after="以前在地铁听不清，现在一按降噪就安静了。",
            quote="同事借去戴了一下：这降噪挺明显的。",
            demo="打开降噪，周围的嘈杂声一下子小了。",
            story="早高峰的地铁上，她戴上耳机闭上眼睛。",
            features=(
                "主动降噪，通勤环境安静很多。",
                "单次续航八小时，配合充电盒更久。",
                "轻触切歌，接电话也方便。",
                "单只只有五克，戴久了不压耳朵。",
            ),
            proof="上市两个月，卖出了四万多副。",
            price_hook="降噪耳机只要299元？先听听效果。",
            offer="今天下单299元，再送一个保护套。",
            price_cap="299元 送保护套",
            points=("主动降噪", "续航八小时", "轻触操作", "单只五克"),
        ),
        _Product(
            name="磁吸充电宝",
            look="一块银色磁吸充电宝",
            pain="出门一天，手机电量总是不够用。",
            question="手机电量又只剩一成？",
            fact="这块充电宝比一张银行卡厚不了多少。",
            before_after="以前出门带线带头，现在往手机背面一吸就充。",
            quote="朋友看到后说：这也太方便了吧。",
            demo="把充电宝贴到手机背面，屏幕亮起充电图标。",
            story="旅行途中，她靠这块充电宝撑过了一整天。",
            features=(
                "磁吸对准，贴上就能充。",
                "一万毫安时，够手机充两次。",
                "机身轻薄，放口袋不鼓包。",
                "支持边充边用，不耽误打电话。",
            ),
            proof="已经有三万多位用户在用。",
            price_hook="一块磁吸充电宝129元，贴上就充。",
            offer="现在下单129元，附赠一根快充线。",
            price_cap="129元 送快充线",
            points=("磁吸即充", "一万毫安时", "轻薄便携", "边充边用"),
        ),
        _Product(
            name="智能手表",
            look="一块黑色表盘的智能手表",
            pain="每天坐在工位上，一不留神就坐了一下午。",
            question="你今天走够六千步了吗？",
            fact="这块手表充一次电，可以戴十天。",
            before_after="以前运动全凭感觉，现在心率步数一目了然。",
            quote="健身教练说：这个运动记录看着很直观。",
            demo="抬腕亮屏，步数和心率直接显示。",
            story="下班后，他戴着手表去公园跑了两圈。",
            features=(
                "抬腕就能看步数和心率。",
                "续航十天，出差不用带充电器。",
                "五十米防水，洗手淋雨都不怕。",
                "一百多种运动模式可选。",
            ),
            proof="上个月有一万多人下单。",
            price_hook="智能手表399元，续航十天。",
            offer="今天下单399元，再送一条替换表带。",
            price_cap="399元 送表带",
            points=("心率步数", "续航十天", "五十米防水", "百种运动模式"),
        ),
    ),
    Industry.games: (
        _Product(
            name="仙侠手游《云海录》",
            look="仙侠手游《云海录》的游戏画面",
            pain="下班想玩会儿游戏，却没时间天天肝。",
            question="想玩仙侠游戏，又没时间天天肝？",
            fact="《云海录》里有三百多套可以收集的时装。",
            before_after="以前升级要刷一晚上，现在挂机也能成长。",
            quote="大学室友说：这画风我能看一整天。",
            demo="一键释放技能，整片云海被点亮。",
            story="少年御剑飞过云海，故事从一座小城开始。",
            features=(
                "自动挂机，上班时间也能成长。",
                "开放世界，可以御剑自由探索。",
                "每周更新剧情和副本。",
                "和好友组队，一起打副本。",
            ),
            proof="公测首周就有上百万玩家进入游戏。",
            price_hook="首充6元，送一套限定时装。",
            offer="现在首充6元，就能领限定时装。",
            price_cap="首充6元",
            points=("自动挂机", "开放世界", "每周更新", "好友组队"),
        ),
        _Product(
            name="休闲游戏《甜甜消消乐》",
            look="《甜甜消消乐》的彩色糖果棋盘",
            pain="排队等餐的几分钟，刷手机总觉得无聊。",
            question="排队的时候，你都在干什么？",
            fact="这个游戏有两千多个关卡，每周还在加。",
            before_after="以前等车干着急，现在三分钟就能过一关。",
            quote="我妈都说：这个游戏一玩就停不下来。",
            demo="手指一滑，一整排糖果同时消掉。",
            story="午休时间，她在工位上闯到了三百关。",
            features=(
                "一局三分钟，碎片时间正好。",
                "两千多个关卡，每周更新。",
                "不联网也能玩。",
                "和好友比拼每周排名。",
            ),
            proof="已经有五百万玩家在玩。",
            price_hook="免费下载，首充1元送五个道具。",
            offer="现在首充1元，就送五个加步道具。",
            price_cap="首充1元",
            points=("一局三分钟", "两千多关", "离线可玩", "好友排行"),
        ),
        _Product(
            name="策略手游《征战三国》",
            look="《征战三国》的沙盘地图",
            pain="想玩策略游戏，又怕太复杂上不了手。",
            question="喜欢三国，又怕策略游戏太难？",
            fact="地图上有四百多座可以攻占的城池。",
            before_after="以前觉得策略游戏难上手，现在跟着引导十分钟就会。",
            quote="老玩家说：这个兵种搭配很有意思。",
            demo="拖动兵团，骑兵从侧翼包抄过去。",
            story="乱世之中，你从一座小城开始招兵买马。",
            features=(
                "四百多座城池，可以自由攻占。",
                "兵种相互克制，搭配很有讲究。",
                "和盟友实时协作攻城。",
                "十分钟新手引导，很快上手。",
            ),
            proof="开服一个月，已经有八十万主公入驻。",
            price_hook="首充6元，直接领一名橙色武将。",
            offer="现在首充6元，送一名橙色武将。",
            price_cap="首充6元 送武将",
            points=("四百座城池", "兵种克制", "盟友攻城", "十分钟上手"),
        ),
    ),
    Industry.education: (
        _Product(
            name="成人英语口语课",
            look="线上英语口语课的上课画面",
            pain="开会要说英语，一开口就卡壳。",
            question="开会说英语总是卡壳？",
            fact="每天练十五分钟，一个月就是七个多小时。",
            before_after="以前不敢开口，现在能用英语做个简单介绍。",
            quote="学员说：外教很有耐心，我终于敢开口了。",
            demo="打开App，外教视频连线，一对一练对话。",
            story="出差前一周，她开始每天练十五分钟口语。",
            features=(
                "一对一外教，练的都是职场场景。",
                "每节课二十五分钟，下班后也能学。",
                "课后有录音回放，可以反复听。",
                "按水平分级，从基础开始练。",
            ),
            proof="已经有十二万学员在这里上过课。",
            price_hook="9.9元试听两节外教课。",
            offer="现在9.9元就能预约两节试听课。",
            price_cap="9.9元两节试听",
            points=("一对一外教", "每节二十五分钟", "课后回放", "分级教学"),
        ),
        _Product(
            name="Python入门课",
            look="Python入门课的代码编辑器画面",
            pain="每天重复整理表格，一弄就是一下午。",
            question="每天手动整理表格，累不累？",
            fact="一段二十行的Python脚本，就能整理好表格。",
            before_after="以前整理表格要一下午，现在跑一段代码就好。",
            quote="学员说：学到第三周，我写出了自己的小工具。",
            demo="点一下运行，几百行表格自动整理好了。",
            story="周五下午，他用自己写的脚本提前下了班。",
            features=(
                "从零开始，不需要编程基础。",
                "每节课配一个办公小项目。",
                "助教在线答疑，卡住了有人帮。",
                "课程有效期一年，可以反复看。",
            ),
            proof="已经有三万多位学员学完了课程。",
            price_hook="Python入门课，先花1元试学三节。",
            offer="现在1元就能试学前三节课。",
            price_cap="1元试学三节",
            points=("零基础入门", "办公小项目", "助教答疑", "一年有效期"),
        ),
        _Product(
            name="少儿美术课",
            look="孩子们在画板前上美术课",
            pain="孩子周末总抱着平板，放不下来。",
            question="周末孩子总抱着平板？",
            fact="一节四十分钟的美术课，孩子要亲手画完一幅作品。",
            before_after="以前孩子坐不住，现在能安静画完一幅画。",
            quote="一位家长说：孩子每周都盼着上这节课。",
            demo="老师示范一笔，孩子跟着画出一只小鸟。",
            story="周六上午，小女孩把刚画好的向日葵举给妈妈看。",
            features=(
                "小班教学，一个班不超过六个孩子。",
                "每节课完成一幅作品。",
                "老师课后会写点评。",
                "适合四到十岁的孩子。",
            ),
            proof="开课三年，已经有两千多个家庭报名。",
            price_hook="49元体验两节少儿美术课。",
            offer="现在49元可以体验两节课，还送画材包。",
            price_cap="49元两节体验课",
            points=("六人小班", "每课一幅作品", "课后点评", "适合4到10岁"),
        ),
    ),
    Industry.auto: (
        _Product(
            name="新能源SUV",
            look="一辆白色新能源SUV",
            pain="周末全家出游，油费越来越心疼。",
            question="全家出游，油费是不是有点心疼？",
            fact="这台SUV每百公里电费大约二十元。",
            before_after="以前加一次油三百多，现在充满电只要几十块。",
            quote="车主说：后排坐三个大人也不挤。",
            demo="轻踩电门，车子安静平顺地起步。",
            story="周六清晨，一家四口开着它去郊外露营。",
            features=(
                "CLTC续航五百公里，周边游很从容。",
                "后排地板纯平，三个人坐也宽敞。",
                "支持快充，半小时左右充到八成。",
                "全景天窗，孩子一路看风景。",
            ),
            proof="上市半年，交付了两万多台。",
            price_hook="新能源SUV，指导价15.98万起。",
            offer="现在预约试驾，指导价15.98万起。",
            price_cap="15.98万起",
            points=("续航五百公里", "后排纯平地板", "半小时快充", "全景天窗"),
        ),
        _Product(
            name="纯电小车",
            look="一辆浅绿色纯电小车",
            pain="上下班通勤，停车位总是难找。",
            question="每天通勤停车难？",
            fact="这台小车转弯直径不到九米，窄路也好掉头。",
            before_after="以前停车要绕好几圈，现在小车身随手就停进去。",
            quote="车主说：每天买菜接孩子正合适。",
            demo="方向盘轻打，小车一把倒进窄车位。",
            story="早上八点，她开着小车穿过老城区去上班。",
            features=(
                "车身小巧，窄路停车都轻松。",
                "续航三百公里，一周充一次电。",
                "百公里电费不到十元。",
                "有五种车身颜色可选。",
            ),
            proof="已经有十多万车主在开。",
            price_hook="纯电小车，指导价5.99万起。",
            offer="现在下订，指导价5.99万起，还送家用充电桩。",
            price_cap="5.99万起",
            points=("小巧好停", "续航三百公里", "电费低", "五种颜色"),
        ),
        _Product(
            name="混动MPV",
            look="一辆深灰色混动MPV",
            pain="一家六口出门，一辆车总是坐不下。",
            question="一家老小出门，车坐得下吗？",
            fact="这台MPV的第三排也能坐下一个成年人。",
            before_after="以前出门要开两辆车，现在一辆就够了。",
            quote="车主说：长途自驾老人坐着也舒服。",
            demo="电动侧滑门缓缓打开，二排座椅向前移动。",
            story="春节回老家，一家六口坐进了这台MPV。",
            features=(
                "七座布局，第三排也能坐大人。",
                "电动侧滑门，老人孩子上下车方便。",
                "混动系统，长途不用担心补能。",
                "二排独立座椅，可以躺下休息。",
            ),
            proof="上市一年，交付了三万多台。",
            price_hook="七座混动MPV，指导价22.98万起。",
            offer="现在预约试驾，指导价22.98万起。",
            price_cap="22.98万起",
            points=("七座布局", "电动侧滑门", "混动长续航", "二排独立座椅"),
        ),
    ),
    Industry.home: (
        _Product(
            name="扫地机器人",
            look="一台白色扫地机器人",
            pain="养了猫之后，地上的毛怎么扫都扫不完。",
            question="家里掉毛扫不完？",
            fact="它一次能清扫一百二十平米，中途不用回充。",
            before_after="以前下班还要拖地，现在回家地面已经干净了。",
            quote="一位养猫的用户说：沙发底下不再积毛了。",
            demo="它绕过椅子腿，把沙发底的猫毛吸了出来。",
            story="周一早上出门前，她在手机上点了开始清扫。",
            features=(
                "扫拖一体，一次就能完成。",
                "激光导航，自动绕开障碍。",
                "手机App预约，出门时也能打扫。",
                "机身8厘米高，能钻进沙发底。",
            ),
            proof="上个月有一万两千多个家庭下单。",
            price_hook="扫拖一体机器人，到手1299元。",
            offer="今天下单到手1299元，再送一年耗材。",
            price_cap="到手价1299元",
            points=("扫拖一体", "激光导航", "手机预约", "8厘米机身"),
        ),
        _Product(
            name="空气炸锅",
            look="一台奶白色可视空气炸锅",
            pain="想吃炸鸡又怕油烟，厨房也不想洗。",
            question="想吃炸鸡又怕油烟？",
            fact="一份鸡翅放进去，不用加油，十五分钟就熟。",
            before_after="以前炸东西满屋油烟，现在放进去定个时就好。",
            quote="用户说：孩子放学回来，鸡翅刚好出锅。",
            demo="透过可视窗口，能看到鸡翅慢慢变成金黄色。",
            story="周五晚上，她用空气炸锅做了一盘薯条。",
            features=(
                "可视窗口，不用开锅看火候。",
                "五升容量，一家三口够用。",
                "内胆可拆，放进水槽就能洗。",
                "八种预设菜单，一键启动。",
            ),
            proof="已经有八万多个家庭在用。",
            price_hook="五升空气炸锅，只要239元。",
            offer="现在下单239元，再送一本食谱和烘焙纸。",
            price_cap="239元 送食谱",
            points=("可视窗口", "五升容量", "内胆可拆洗", "八种预设菜单"),
        ),
        _Product(
            name="记忆棉枕头",
            look="一只灰色记忆棉枕头",
            pain="早上醒来脖子发僵，一整天都不舒服。",
            question="早上醒来脖子发僵？",
            fact="这只枕头两边高、中间低，侧睡仰睡都能托住。",
            before_after="以前枕头越睡越塌，现在按下去还能慢慢回弹。",
            quote="用户说：换了它之后，早上醒来轻松多了。",
            demo="用手按下去，松开后枕头慢慢回弹。",
            story="出差回来，他一头倒在熟悉的枕头上。",
            features=(
                "慢回弹记忆棉，贴合肩颈。",
                "两侧高度不同，侧睡仰睡都合适。",
                "枕套可拆洗，透气不闷。",
                "有三种高度可选。",
            ),
            proof="上线一年，收到了一万多条评价。",
            price_hook="一只记忆棉枕头，只要99元。",
            offer="现在下单99元，再送一个替换枕套。",
            price_cap="99元 送枕套",
            points=("慢回弹记忆棉", "侧睡仰睡都合适", "枕套可拆洗", "三种高度"),
        ),
    ),
    Industry.finance: (
        _Product(
            name="联名信用卡",
            look="一张蓝色联名信用卡",
            pain="每个月网购不少，却没拿到什么回馈。",
            question="每月网购那么多，拿到回馈了吗？",
            fact="这张卡在指定商户消费，每笔都能积分。",
            before_after="以前刷卡只是付钱，现在每一笔都在攒积分。",
            quote="持卡人说：积分换了两张电影票。",
            demo="打开App，积分和账单一目了然。",
            story="月底看账单时，她发现积分能换一台咖啡机了。",
            features=(
                "指定商户消费可累积积分。",
                "积分能兑换影票和生活用品。",
                "账单和额度在App里随时查看。",
                "具体权益以银行公告为准。",
            ),
            proof="已经有五十多万人申请了这张卡。",
            price_hook="首年年费0元，次年刷满六次免年费。",
            offer="现在申请首年年费0元，年费规则以银行公告为准。",
            price_cap="首年年费0元",
            points=("消费累积积分", "积分兑换好礼", "App查账单", "首年免年费"),
        ),
        _Product(
            name="记账App",
            look="手机上打开的记账App界面",
            pain="每个月工资到手，月底却不知道花哪了。",
            question="工资去哪了，你说得清吗？",
            fact="每天花两分钟记账，一年就能看清消费习惯。",
            before_after="以前月底才发现超支，现在每笔开销都有提醒。",
            quote="用户说：用了三个月，我知道钱花在哪了。",
            demo="拍一张小票，金额和类别自动填好。",
            story="发工资那天，她给自己定了一个预算。",
            features=(
                "拍小票自动记账，省去手动输入。",
                "按类别生成月度报表。",
                "快超出预算时会提前提醒。",
                "数据加密保存，可以随时导出。",
            ),
            proof="已经有两百万用户在用它记账。",
            price_hook="记账App会员每月6元，先免费用七天。",
            offer="现在开会员每月6元，新用户免费试用七天。",
            price_cap="会员每月6元",
            points=("拍照记账", "月度报表", "预算提醒", "数据可导出"),
        ),
        _Product(
            name="数字储蓄账户",
            look="手机银行里的储蓄账户页面",
            pain="想存点钱，可总是存着存着就花掉了。",
            question="想存钱，却总是存不下来？",
            fact="每天存下十元，一年就是三千六百多元。",
            before_after="以前工资一到就花光，现在每周自动存一笔。",
            quote="用户说：设置自动存钱后，我攒下了旅行基金。",
            demo="设置好每周存款金额，到时间自动转入。",
            story="她给存钱目标起名叫：明年去海边。",
            features=(
                "可以设置每周自动存款。",
                "存钱目标的进度一眼能看到。",
                "账户明细随时可查。",
                "利率按银行公告执行，可能调整。",
            ),
            proof="已经有八十多万人在用它存钱。",
            price_hook="开户0元，每周自动帮你存一笔。",
            offer="现在开户0元起存，利率以银行公告为准。",
            price_cap="0元开户",
            points=("自动存款", "目标进度", "明细可查", "0元开户"),
        ),
    ),
    Industry.travel: (
        _Product(
            name="三亚机票酒店套餐",
            look="三亚海边酒店的泳池和沙滩",
            pain="想去海边度假，一查机票酒店就头大。",
            question="想去海边，却懒得做攻略？",
            fact="这个套餐包含往返机票和四晚海景酒店。",
            before_after="以前订机票酒店要比价一晚上，现在一个套餐全搞定。",
            quote="游客说：推开窗就能看到海。",
            demo="镜头从酒店阳台推出去，正对着一片海。",
            story="周五下班后，她拖着行李箱直接去了机场。",
            features=(
                "往返机票加四晚海景酒店。",
                "含双人早餐和接送机。",
                "出发前七天可以免费改期。",
                "有多个出发城市可选。",
            ),
            proof="去年有六千多位游客选了这个套餐。",
            price_hook="三亚五天四晚，2999元起。",
            offer="现在预订2999元起，出发日期还能再选。",
            price_cap="2999元起",
            points=("往返机票", "四晚海景房", "含早餐接送", "七天前可改期"),
        ),
        _Product(
            name="温泉酒店",
            look="山间温泉酒店的露天汤池",
            pain="一周加班下来，整个人都很疲惫。",
            question="这周是不是累坏了？",
            fact="这家酒店每间房都有独立的露天汤池。",
            before_after="以前周末只想在家躺着，现在开车两小时就能泡温泉。",
            quote="住客说：晚上泡着温泉能看到星星。",
            demo="掀开竹帘，热气从汤池里升起。",
            story="下雪的周末，一家三口泡进了露天汤池。",
            features=("每间房都有独立汤池。", "含双人早晚餐。", "离市区两小时车程。", "周末和节假日同价。"),
            proof="上个冬天，有九千多位住客入住。",
            price_hook="独立汤池房，一晚899元起。",
            offer="现在预订一晚899元起，含双人早晚餐。",
            price_cap="899元起",
            points=("独立汤池", "含早晚餐", "两小时车程", "节假日同价"),
        ),
        _Product(
            name="云南六日自由行",
            look="大理洱海边的骑行公路",
            pain="假期只有几天，不想把时间花在做攻略上。",
            question="假期只有六天，去哪合适？",
            fact="这条路线六天走完昆明、大理和丽江三座城。",
            before_after="以前旅行一半时间在赶路，现在行程已经帮你排好。",
            quote="游客说：洱海边骑行那天，天特别蓝。",
            demo="一辆自行车沿着洱海边的公路骑过。",
            story="清晨的大理古城，她背着相机出了门。",
            features=(
                "六天走完昆明、大理和丽江。",
                "城市之间有专车接送。",
                "酒店都在古城附近。",
                "行程可以按自己的节奏调整。",
            ),
            proof="今年已经有四千多位游客出发。",
            price_hook="云南六日自由行，3680元起。",
            offer="现在预订3680元起，含城市间专车接送。",
            price_cap="3680元起",
            points=("三城联游", "专车接送", "古城住宿", "行程可调"),
        ),
    ),
}

_EN: dict[Industry, tuple[_Product, ...]] = {
    Industry.beauty: (
        _Product(
            name="the hydrating serum",
            look="a white dropper bottle of hydrating serum",
            pain="Seasonal weather leaves your skin dry and flaky.",
            question="Does your skin feel tight by noon?",
            fact="This serum uses three sizes of hyaluronic acid.",
            before_after="Makeup used to cling to dry patches. Now it goes on smooth.",
            quote='"My coworker asked what I changed," says one customer.',
            demo="One drop spreads across the back of the hand in seconds.",
            story="After a late shift, she notices her skin looks dull again.",
            features=(
                "Three hyaluronic acids hydrate layer by layer.",
                "Light texture that sinks in fast.",
                "No added fragrance, just a faint scent.",
                "One bottle lasts about two months.",
            ),
            proof="Over twenty thousand customers have reordered.",
            price_hook="Two bottles for $39? Keep watching.",
            offer="Order today and get two bottles for $39.",
            price_cap="Two bottles for $39",
            points=("Triple hyaluronic acid", "Light, never sticky", "No added fragrance", "Lasts two months"),
        ),
        _Product(
            name="the daily sunscreen",
            look="a blue tube of daily sunscreen",
            pain="A short commute is enough to leave your face red.",
            question="Are you wearing sunscreen on cloudy days?",
            fact="UV rays still reach your skin through clouds.",
            before_after="Sunscreen used to feel greasy. This one feels like nothing.",
            quote="\"It's so light I forget it's on,\" says a customer.",
            demo="A line on the arm blends in with no white cast.",
            story="Before the beach trip, she tosses it into her bag.",
            features=(
                "SPF 50 for commutes and weekends.",
                "No white cast and no pilling under makeup.",
                "Sweat-resistant formula for summer days.",
                "A pocket-sized tube for easy reapplying.",
            ),
            proof="More than thirty thousand tubes sold last season.",
            price_hook="A summer of sunscreen for $18.",
            offer="It's $18 today, and the second tube is half off.",
            price_cap="$18, second half off",
            points=("SPF 50", "No white cast", "Sweat-resistant", "Pocket-sized"),
        ),
        _Product(
            name="the velvet lip tint",
            look="a matte black tube of velvet lip tint",
            pain="Your lipstick fades after one cup of coffee.",
            question="Does your lipstick vanish after coffee?",
            fact="This tint comes in twelve shades for warm and cool tones.",
            before_after="Lips used to feel dry by lunch. Now they stay soft.",
            quote='"This color makes me look awake," says one customer.',
            demo="One light layer, a blot on tissue, and barely any transfer.",
            story="Running late for dinner, she grabs just one thing.",
            features=(
                "A velvet texture that feels light.",
                "Twelve shades for work and weekends.",
                "Plant oils help keep lips comfortable.",
                "A slim tube that fits any pocket.",
            ),
            proof="Eight thousand reviews in three months.",
            price_hook="A velvet lip tint for $12, shipped free.",
            offer="It's $12 today, and two tints are $20.",
            price_cap="$12, free shipping",
            points=("Velvet texture", "Twelve shades", "Low transfer", "Slim tube"),
        ),
    ),
    Industry.apparel: (
        _Product(
            name="the denim jacket",
            look="a light-wash denim jacket",
            pain="Cold mornings and warm afternoons make getting dressed hard.",
            question="Cold mornings, warm afternoons. What do you wear?",
            fact="We washed this jacket twenty times and the color held.",
            before_after="Jackets used to feel stiff. This one is soft from day one.",
            quote='"Everyone asks where I got this jacket," says a buyer.',
            demo="Thrown over a white tee, sleeves rolled in one move.",
            story="The wind picks up after class, and she reaches into her bag.",
            features=(
                "A cropped cut that works with high-waist jeans.",
                "Stone-washed denim, soft from the start.",
                "Four pockets for phone, keys and cards.",
                "A unisex fit in four sizes.",
            ),
            proof="Five thousand buyers have posted photos.",
            price_hook="A soft denim jacket for $59.",
            offer="It's $59 today, with ten percent off two.",
            price_cap="$59, 10% off two",
            points=("Cropped cut", "Soft washed denim", "Four pockets", "Unisex sizing"),
        ),
        _Product(
            name="the linen summer dress",
            look="a blue floral linen summer dress",
            pain="Summer heat makes every outfit feel heavy.",
            question="Too hot for jeans again?",
            fact="This dress weighs about as much as a phone.",
            before_after="Dresses used to cling in the heat. This one breathes.",
            quote='"My friend asked for the link before lunch," says a buyer.',
            demo="One spin and the skirt opens up.",
            story="Picnic plans on Saturday, and she finally has the dress.",
            features=(
                "A high waist that lengthens the legs.",
                "A linen-cotton blend that breathes in summer.",
                "Knee length for work or weekends.",
                "Three colors, sizes XS to XL.",
            ),
            proof="Two thousand orders in the launch week.",
            price_hook="A linen dress for $45? Look at the fit.",
            offer="Today it's $45 with free returns.",
            price_cap="$45, free returns",
            points=("High waist", "Breathable linen", "Knee length", "Three colors"),
        ),
        _Product(
            name="the running shoes",
            look="a pair of white and grey running shoes",
            pain="Three miles in and your feet already ache.",
            question="Do your feet ache after a short run?",
            fact="Each shoe weighs about eight ounces.",
            before_after="Runs used to leave my feet sore. Now they feel springy.",
            quote='"It feels like running on a cushion," says a club runner.',
            demo="Press the sole and it springs right back.",
            story="Six a.m., laces tied, he heads out the door.",
            features=(
                "Responsive foam returns energy every step.",
                "A mesh upper keeps feet cool.",
                "A grippy outsole for wet pavement.",
                "Light enough for daily miles.",
            ),
            proof="Hundreds of runners in local clubs wear them.",
            price_hook="Running shoes with this bounce for $89.",
            offer="Get them today for $89 with free socks.",
            price_cap="$89 with free socks",
            points=("Responsive foam", "Breathable mesh", "Grippy outsole", "Eight ounces"),
        ),
    ),
    Industry.food: (
        _Product(
            name="the nut granola",
            look="a jar of nut and berry granola",
            pain="Busy mornings mean skipping breakfast again.",
            question="No time for breakfast again?",
            fact="Every bowl has six kinds of nuts and dried fruit.",
            before_after="Breakfast used to be a vending machine bar. Now it's a bowl in three minutes.",
            quote='"My roommate keeps stealing my granola," says one customer.',
            demo="Pour, add milk, and the clusters stay crunchy.",
            story="At seven thirty, she pours a bowl before heading out.",
            features=(
                "Six nuts and dried fruits in every jar.",
                "Slow-baked clusters that stay crunchy.",
                "Ready with milk or yogurt.",
                "One jar lasts about two weeks.",
            ),
            proof="Over sixty percent of customers reorder.",
            price_hook="A jar of granola for $9, and breakfast is sorted.",
            offer="Today a jar is $9, and two come with a free scoop.",
            price_cap="$9 a jar",
            points=("Six nuts and fruits", "Slow-baked", "Ready in seconds", "Two weeks per jar"),
        ),
        _Product(
            name="the beef jerky",
            look="a bag of hand-torn beef jerky",
            pain="The afternoon slump hits, and all you have is candy.",
            question="Need a snack that isn't sugar?",
            fact="It takes over two pounds of beef to make one pound of jerky.",
            before_after="Snacks used to leave me hungry. This one keeps me going.",
            quote='"It\'s chewy in the right way," says a coworker.',
            demo="Tear a strip and you can see the grain of the meat.",
            story="Nine p.m. at the office, he opens a bag.",
            features=(
                "Air-dried and torn by hand.",
                "Original and spicy flavors.",
                "Single packs for your bag.",
                "A short ingredient list you can read.",
            ),
            proof="Over ten thousand bags sold this month.",
            price_hook="Three bags of jerky for $19.",
            offer="Right now three bags are $19.",
            price_cap="Three bags for $19",
            points=("Hand-torn", "Two flavors", "Single packs", "Short ingredient list"),
        ),
        _Product(
            name="the cold brew concentrate",
            look="a glass bottle of cold brew concentrate",
            pain="Coffee shop lines eat up your morning.",
            question="Still waiting in line for coffee?",
            fact="One bottle makes about sixteen cups.",
            before_after="Mornings used to start in a queue. Now they start in my kitchen.",
            quote='"It tastes smooth, not bitter," says one subscriber.',
            demo="Pour over ice, top with milk, and it's ready in ten seconds.",
            story="Sunday morning, she fills a glass with ice and cold brew.",
            features=(
                "Steeped for eighteen hours for a smooth taste.",
                "Mix with water, milk or oat milk.",
                "Keeps for two weeks in the fridge.",
                "Glass bottle you can recycle.",
            ),
            proof="Subscribers have poured over a million cups.",
            price_hook="Sixteen cups of cold brew for $15.",
            offer="It's $15 a bottle today, with free shipping on two.",
            price_cap="$15 a bottle",
            points=("Eighteen-hour steep", "Sixteen cups a bottle", "Mix your way", "Keeps two weeks"),
        ),
    ),
    Industry.electronics: (
        _Product(
            name="the noise-cancelling earbuds",
            look="white noise-cancelling earbuds in a charging case",
            pain="The train is so loud you turn the volume all the way up.",
            question="Can't hear your music on the train?",
            fact="These earbuds play for eight hours on one charge.",
            before_after="My commute used to be noise. Now one tap makes it quiet.",
            quote='"The noise cancelling is really noticeable," says a coworker.',
            demo="Switch on noise cancelling and the chatter drops away.",
            story="Rush hour on the subway, she puts them in and closes her eyes.",
            features=(
                "Active noise cancelling for loud commutes.",
                "Eight hours of play, more with the case.",
                "Tap to skip songs or take calls.",
                "Five grams per bud, comfortable for hours.",
            ),
            proof="Forty thousand pairs sold in two months.",
            price_hook="Noise-cancelling earbuds for $49? Listen first.",
            offer="Order today for $49 and get a free case cover.",
            price_cap="$49 with a free cover",
            points=("Noise cancelling", "Eight-hour battery", "Tap controls", "Five grams each"),
        ),
        _Product(
            name="the magnetic power bank",
            look="a silver magnetic power bank",
            pain="Your phone dies before the day is over.",
            question="Phone at ten percent again?",
            fact="This power bank is barely thicker than a credit card.",
            before_after="I used to carry cables everywhere. Now I just snap it on.",
            quote='"Why didn\'t I get this sooner?" says one customer.',
            demo="Snap it to the back of the phone and charging starts.",
            story="Halfway through a travel day, her phone still has plenty of charge.",
            features=(
                "Magnetic alignment, so you snap on and charge.",
                "Ten thousand mAh, about two full charges.",
                "Slim enough for a pocket.",
                "Charge while you call or text.",
            ),
            proof="Thirty thousand people carry one.",
            price_hook="A magnetic power bank for $35.",
            offer="It's $35 today with a free fast-charging cable.",
            price_cap="$35 with a free cable",
            points=("Snap-on charging", "10,000 mAh", "Pocket slim", "Use while charging"),
        ),
        _Product(
            name="the smartwatch",
            look="a smartwatch with a black face",
            pain="You sit at your desk all afternoon without noticing.",
            question="Did you hit six thousand steps today?",
            fact="This watch runs ten days on one charge.",
            before_after="I used to guess my workouts. Now I see steps and heart rate.",
            quote='"The workout summaries are easy to read," says a trainer.',
            demo="Raise your wrist and steps and heart rate appear.",
            story="After work, he wears it for two laps around the park.",
            features=(
                "Steps and heart rate at a glance.",
                "A ten-day battery, so no charger on trips.",
                "Water-resistant to fifty meters.",
                "Over a hundred workout modes.",
            ),
            proof="Ten thousand orders last month.",
            price_hook="A ten-day-battery smartwatch for $79.",
            offer="Order today for $79 and get a spare strap.",
            price_cap="$79 with a spare strap",
            points=("Heart rate and steps", "Ten-day battery", "Water-resistant", "100+ workout modes"),
        ),
    ),
    Industry.games: (
        _Product(
            name="Skyforge Saga",
            look="fantasy RPG Skyforge Saga gameplay",
            pain="You want an epic RPG but only have twenty minutes a night.",
            question="Want a fantasy RPG that fits into a lunch break?",
            fact="Skyforge Saga has over three hundred outfits to collect.",
            before_after="Leveling used to take all night. Now your party grows while you're away.",
            quote='"I can\'t stop looking at this art style," says a player.',
            demo="One tap and a spell lights up the whole sky.",
            story="A young knight leaves a small town with a borrowed sword.",
            features=(
                "Idle progress keeps your party growing.",
                "An open world you can fly across.",
                "New story chapters every week.",
                "Team up with friends for raids.",
            ),
            proof="A million players joined in launch week.",
            price_hook="Free to play, and the starter pack is $0.99.",
            offer="Download now, and the starter pack is just $0.99.",
            price_cap="Starter pack $0.99",
            points=("Idle progress", "Open world", "Weekly chapters", "Co-op raids"),
        ),
        _Product(
            name="Candy Drop",
            look="the colorful Candy Drop puzzle board",
            pain="Waiting in line feels longer with nothing to do.",
            question="What do you do while waiting in line?",
            fact="Candy Drop has over two thousand levels and adds more weekly.",
            before_after="Waiting used to be boring. Now it's one more level.",
            quote='"Even my mom plays it every night," says one player.',
            demo="One swipe clears a whole row of candy.",
            story="On her lunch break, she reaches level three hundred.",
            features=(
                "Three-minute levels for short breaks.",
                "Two thousand levels, more every week.",
                "Plays offline on the subway.",
                "Weekly leaderboards with friends.",
            ),
            proof="Five million players and counting.",
            price_hook="Free to download, with a $0.99 booster bundle.",
            offer="Download free and grab the booster bundle for $0.99.",
            price_cap="Boosters for $0.99",
            points=("Three-minute levels", "2,000+ levels", "Plays offline", "Friend leaderboards"),
        ),
        _Product(
            name="Kingdoms at War",
            look="the Kingdoms at War battle map",
            pain="Strategy games look fun but feel too hard to learn.",
            question="Love strategy games but hate long tutorials?",
            fact="The map has over four hundred cities to claim.",
            before_after="Strategy used to feel complicated. Now the tutorial takes ten minutes.",
            quote='"The unit counters keep every battle interesting," says a veteran.',
            demo="Drag your cavalry around the flank and watch the line break.",
            story="You start with one small town and a handful of soldiers.",
            features=(
                "Four hundred cities to claim.",
                "Units counter each other, so plans matter.",
                "Siege cities together with your alliance.",
                "A ten-minute tutorial gets you started.",
            ),
            proof="Eight hundred thousand players joined in a month.",
            price_hook="Free to play, with a $4.99 commander pack.",
            offer="Download now, and the commander pack is $4.99.",
            price_cap="Commander pack $4.99",
            points=("400 cities", "Unit counters", "Alliance sieges", "Ten-minute tutorial"),
        ),
    ),
    Industry.education: (
        _Product(
            name="the Python beginner course",
            look="a code editor in the Python beginner course",
            pain="You spend hours copying data between spreadsheets.",
            question="Still cleaning spreadsheets by hand?",
            fact="A twenty-line Python script can tidy a spreadsheet for you.",
            before_after="Cleanup used to take an afternoon. Now a script does it.",
            quote='"By week three I\'d built my own tool," says a student.',
            demo="Click run, and hundreds of rows sort themselves.",
            story="Friday afternoon, he leaves early thanks to his own script.",
            features=(
                "Starts from zero, no experience needed.",
                "Every lesson ends with an office project.",
                "Mentors answer questions when you get stuck.",
                "Watch lessons again for a full year.",
            ),
            proof="Thirty thousand students have finished the course.",
            price_hook="Try three Python lessons for $1.",
            offer="Right now the first three lessons are $1.",
            price_cap="Three lessons for $1",
            points=("No experience needed", "Office projects", "Mentor support", "One year access"),
        ),
        _Product(
            name="the Spanish conversation course",
            look="a video call with a Spanish tutor",
            pain="You froze the last time someone spoke Spanish to you.",
            question="Freeze up when it's time to speak Spanish?",
            fact="Fifteen minutes a day adds up to over seven hours a month.",
            before_after="I used to freeze. Now I can order, ask and chat.",
            quote='"My tutor is patient, and I finally speak up," says a student.',
            demo="Open the app and a tutor joins for a one-on-one chat.",
            story="A week before her trip, she starts practicing every night.",
            features=(
                "One-on-one tutors and everyday conversations.",
                "Twenty-five-minute lessons after work.",
                "Replays so you can listen again.",
                "Levels from beginner to advanced.",
            ),
            proof="Over a hundred thousand learners have taken a lesson.",
            price_hook="Two Spanish lessons for $5.",
            offer="Book two trial lessons for $5 today.",
            price_cap="Two lessons for $5",
            points=("One-on-one tutors", "25-minute lessons", "Lesson replays", "All levels"),
        ),
        _Product(
            name="the kids art class",
            look="kids painting at easels in an art class",
            pain="Weekends turn into hours of tablet time.",
            question="Is the tablet winning your weekends?",
            fact="In one forty-minute class, each kid finishes a painting.",
            before_after="He used to get restless. Now he finishes a whole painting.",
            quote='"She counts down the days to art class," says a parent.',
            demo="The teacher paints one stroke and the kids follow along.",
            story="Saturday morning, a girl holds up her sunflower painting.",
            features=(
                "Small groups of six kids or fewer.",
                "A finished painting every class.",
                "Written feedback after each lesson.",
                "For ages four to ten.",
            ),
            proof="Two thousand families have joined in three years.",
            price_hook="Two kids art classes for $15.",
            offer="Book two classes for $15, art kit included.",
            price_cap="Two classes for $15",
            points=("Groups of six", "A painting a class", "Teacher feedback", "Ages 4 to 10"),
        ),
    ),
    Industry.auto: (
        _Product(
            name="the electric SUV",
            look="a white electric SUV",
            pain="Gas prices turn every family road trip into math.",
            question="Does every road trip start at the gas pump?",
            fact="This SUV costs about four dollars per hundred miles to charge.",
            before_after="Fill-ups used to cost sixty dollars. Now I charge at home.",
            quote='"Three adults fit in the back, no problem," says an owner.',
            demo="A light press and the SUV glides away in silence.",
            story="Saturday at dawn, a family of four drives out to camp.",
            features=(
                "Up to three hundred miles of EPA-estimated range.",
                "A flat rear floor with room for three.",
                "Fast charging to eighty percent in about thirty minutes.",
                "A panoramic roof for the kids.",
            ),
            proof="Over twenty thousand delivered in six months.",
            price_hook="An electric SUV from $32,900 MSRP.",
            offer="Book a test drive today. MSRP starts at $32,900.",
            price_cap="From $32,900 MSRP",
            points=("300-mile range", "Flat rear floor", "Thirty-minute fast charge", "Panoramic roof"),
        ),
        _Product(
            name="the hybrid minivan",
            look="a grey hybrid minivan",
            pain="Family trips mean squeezing six people into five seats.",
            question="Does the whole family fit in your car?",
            fact="Even the third row fits an adult comfortably.",
            before_after="We used to take two cars. Now one is enough.",
            quote='"Grandma rides in comfort on long trips," says an owner.',
            demo="The power sliding door opens and the second row glides forward.",
            story="Holiday weekend, six of them pile in for the drive home.",
            features=(
                "Seven seats, with room for adults in the third row.",
                "Power sliding doors for easy loading.",
                "A hybrid system for long trips between stops.",
                "Second-row captain's chairs that recline.",
            ),
            proof="Thirty thousand families took delivery last year.",
            price_hook="A seven-seat hybrid minivan from $38,500 MSRP.",
            offer="Book a test drive. MSRP starts at $38,500.",
            price_cap="From $38,500 MSRP",
            points=("Seven seats", "Power sliding doors", "Hybrid range", "Reclining captain's chairs"),
        ),
        _Product(
            name="the compact EV",
            look="a small mint-green electric hatchback",
            pain="City parking turns every errand into a hunt.",
            question="Tired of circling the block for parking?",
            fact="This car turns in under thirty feet, so U-turns are easy.",
            before_after="Parking used to take three laps. Now I slip right in.",
            quote='"It\'s made school runs so easy," says an owner.',
            demo="A light turn of the wheel, and it backs into a tight spot.",
            story="Eight a.m., she zips through the old town to work.",
            features=(
                "A compact body for tight city parking.",
                "Around two hundred miles of range.",
                "Charging costs a few dollars a week.",
                "Five body colors to choose from.",
            ),
            proof="Over a hundred thousand drivers on the road.",
            price_hook="A city EV from $21,900 MSRP.",
            offer="Reserve today. MSRP from $21,900, home charger included.",
            price_cap="From $21,900 MSRP",
            points=("Easy to park", "200-mile range", "Low charging cost", "Five colors"),
        ),
    ),
    Industry.home: (
        _Product(
            name="the robot vacuum",
            look="a white robot vacuum",
            pain="With a cat in the house, the fur never stops.",
            question="Cat hair everywhere again?",
            fact="It cleans about 1,300 square feet without recharging.",
            before_after="I used to mop after work. Now I come home to clean floors.",
            quote='"No more fur under the couch," says a cat owner.',
            demo="It weaves around chair legs and pulls fur from under the sofa.",
            story="Monday morning, she taps start on her phone and heads out.",
            features=(
                "Vacuums and mops in one pass.",
                "Laser navigation steers around obstacles.",
                "Schedule cleaning from your phone.",
                "Just over three inches tall, so it fits under sofas.",
            ),
            proof="Twelve thousand homes ordered one last month.",
            price_hook="A vacuum-and-mop robot for $299.",
            offer="Order today for $299 with a year of filters.",
            price_cap="$299 with filters",
            points=("Vacuum and mop", "Laser navigation", "App scheduling", "Fits under sofas"),
        ),
        _Product(
            name="the air fryer",
            look="a cream-white air fryer with a window",
            pain="You want fries without a greasy kitchen.",
            question="Craving fries without the grease?",
            fact="Wings cook in fifteen minutes with no added oil.",
            before_after="Frying used to fill the house with smoke. Now I set a timer.",
            quote='"Wings are ready when the kids get home," says a parent.',
            demo="Through the window, the wings turn golden.",
            story="Friday night, she makes a tray of fries for movie night.",
            features=(
                "A viewing window, so no need to open it.",
                "A five-quart basket for a family of three.",
                "A dishwasher-safe basket for quick cleanup.",
                "Eight presets, one button each.",
            ),
            proof="Eighty thousand kitchens use one.",
            price_hook="A five-quart air fryer for $69.",
            offer="Get it today for $69 with a free recipe book.",
            price_cap="$69 with a recipe book",
            points=("Viewing window", "Five-quart basket", "Dishwasher-safe", "Eight presets"),
        ),
        _Product(
            name="the memory foam pillow",
            look="a grey memory foam pillow",
            pain="You wake up with a stiff neck that lasts all day.",
            question="Waking up with a stiff neck?",
            fact="This pillow is higher at the edges for side sleepers.",
            before_after="My old pillow went flat. This one springs back.",
            quote='"Mornings feel easier since I switched," says a customer.',
            demo="Press it down and watch it slowly rise back.",
            story="Home from a work trip, he sinks into his own pillow.",
            features=(
                "Slow-rebound memory foam supports your neck.",
                "Two heights for side and back sleeping.",
                "A removable, washable cover.",
                "Three loft options to choose from.",
            ),
            proof="Ten thousand reviews in its launch year.",
            price_hook="A memory foam pillow for $29.",
            offer="It's $29 today with a spare cover.",
            price_cap="$29 with a spare cover",
            points=("Memory foam", "Side or back sleep", "Washable cover", "Three heights"),
        ),
    ),
    Industry.finance: (
        _Product(
            name="the savings app",
            look="a savings app on a phone screen",
            pain="Payday comes and goes, and savings never grow.",
            question="Where does your paycheck go?",
            fact="Saving five dollars a day adds up to over eighteen hundred a year.",
            before_after="I used to spend it all. Now a little moves to savings every week.",
            quote='"I finally saved for my trip," says one user.',
            demo="Set a weekly amount and it moves to savings automatically.",
            story="On payday, she names her savings goal: beach trip.",
            features=(
                "Automatic weekly transfers into savings.",
                "See progress toward each goal.",
                "Check every transaction in the app.",
                "Rates can change, so see the terms in the app.",
            ),
            proof="Eight hundred thousand people save with it.",
            price_hook="No monthly fee, and you can start with $1.",
            offer="Open an account with $1 and no monthly fee. Rates can change.",
            price_cap="Start with $1",
            points=("Auto-save", "Goal tracking", "Clear history", "No monthly fee"),
        ),
        _Product(
            name="the rewards credit card",
            look="a blue rewards credit card",
            pain="You shop online every month but get nothing back.",
            question="Getting anything back on what you spend?",
            fact="This card earns points on every purchase at partner stores.",
            before_after="Paying used to be just paying. Now every purchase earns points.",
            quote='"My points paid for two movie tickets," says a cardholder.',
            demo="Open the app and your points and statement are right there.",
            story="Checking her statement at month's end, she spots her points total.",
            features=(
                "Earn points at partner stores.",
                "Redeem points for tickets and everyday items.",
                "Track spending and limits in the app.",
                "Terms and rates are in the card agreement.",
            ),
            proof="Over five hundred thousand people have applied.",
            price_hook="A $0 annual fee for the first year.",
            offer="Apply now for a $0 first-year fee. Terms apply.",
            price_cap="$0 first-year fee",
            points=("Earn points", "Redeem rewards", "App tracking", "$0 first-year fee"),
        ),
        _Product(
            name="the budgeting app",
            look="a budgeting app dashboard on a phone",
            pain="The month ends and you're not sure where the money went.",
            question="Can you say where last month's money went?",
            fact="Two minutes a day is enough to see your spending habits.",
            before_after="I used to overspend by the twentieth. Now I get a heads-up.",
            quote='"Three months in, I know where my money goes," says a user.',
            demo="Snap a receipt and the amount and category fill in.",
            story="At the start of the month, she sets a budget.",
            features=(
                "Snap receipts instead of typing.",
                "Monthly reports by category.",
                "Alerts before you go over budget.",
                "Encrypted data you can export any time.",
            ),
            proof="Two million people budget with it.",
            price_hook="Premium is $3 a month, with a free week to try.",
            offer="Premium is $3 a month, and your first week is free.",
            price_cap="$3 a month",
            points=("Receipt scanning", "Monthly reports", "Budget alerts", "Export anytime"),
        ),
    ),
    Industry.travel: (
        _Product(
            name="the Hawaii flight and hotel package",
            look="a beachfront hotel pool in Hawaii",
            pain="You want a beach trip, but planning it feels like work.",
            question="Need a beach trip without the planning?",
            fact="This package covers round-trip flights and four nights by the ocean.",
            before_after="I used to compare prices all night. Now one package covers it.",
            quote='"We opened the curtains and saw the ocean," says a traveler.',
            demo="The camera glides off the balcony toward the water.",
            story="Friday after work, she heads straight to the airport.",
            features=(
                "Round-trip flights plus four oceanview nights.",
                "Breakfast for two and airport transfers.",
                "Free date changes up to seven days out.",
                "Departures from several cities.",
            ),
            proof="Six thousand travelers booked it last year.",
            price_hook="Five days in Hawaii from $899.",
            offer="Book now from $899 and pick your dates later.",
            price_cap="From $899",
            points=("Flights included", "Four oceanview nights", "Breakfast and transfers", "Flexible dates"),
        ),
        _Product(
            name="the hot spring lodge",
            look="an outdoor hot spring pool at a mountain lodge",
            pain="A long week leaves you completely drained.",
            question="Was this week a lot?",
            fact="Every room at this lodge has its own outdoor hot spring.",
            before_after="Weekends used to mean the couch. Now the springs are two hours away.",
            quote='"We watched the stars from the hot spring," says a guest.',
            demo="The bamboo curtain lifts and steam rises from the pool.",
            story="On a snowy weekend, a family of three slips into the spring.",
            features=(
                "A private hot spring in every room.",
                "Breakfast and dinner for two.",
                "Two hours' drive from the city.",
                "The same price on weekends and holidays.",
            ),
            proof="Nine thousand guests stayed last winter.",
            price_hook="A private hot spring room from $189 a night.",
            offer="Book from $189 a night, meals for two included.",
            price_cap="From $189 a night",
            points=("Private hot spring", "Meals for two", "Two hours away", "Same holiday price"),
        ),
        _Product(
            name="the Lisbon city break",
            look="a yellow tram on a Lisbon hillside street",
            pain="Your time off is short, and planning eats half of it.",
            question="Only four days off this spring?",
            fact="This trip covers Lisbon, Sintra and the coast in four days.",
            before_after="Trips used to be half logistics. Now the route is ready.",
            quote='"The tram ride up the hill was a highlight," says a traveler.',
            demo="A yellow tram climbs a narrow street past tiled houses.",
            story="Early morning in Lisbon, she sets out with a camera.",
            features=(
                "Lisbon, Sintra and the coast in four days.",
                "Transfers between stops included.",
                "Hotels close to the old town.",
                "Adjust the plan at your own pace.",
            ),
            proof="Four thousand travelers went this year.",
            price_hook="Four days in Lisbon from $649.",
            offer="Book now from $649 with transfers included.",
            price_cap="From $649",
            points=("Three places, four days", "Transfers included", "Old town hotels", "Flexible plan"),
        ),
    ),
}

#: The verb each industry's call to action asks for.
_VERB: dict[Language, dict[Industry, str]] = {
    Language.zh: {
        Industry.beauty: "下单",
        Industry.apparel: "下单",
        Industry.food: "下单",
        Industry.electronics: "下单",
        Industry.games: "下载",
        Industry.education: "预约试听",
        Industry.auto: "预约试驾",
        Industry.home: "下单",
        Industry.finance: "申请",
        Industry.travel: "预订",
    },
    Language.en: {
        Industry.beauty: "shop",
        Industry.apparel: "shop",
        Industry.food: "order",
        Industry.electronics: "shop",
        Industry.games: "download",
        Industry.education: "book a trial",
        Industry.auto: "book a test drive",
        Industry.home: "shop",
        Industry.finance: "apply",
        Industry.travel: "book",
    },
}

#: CTA lines per strength: (narration templates, caption template). ``none`` signs off without asking.
_CTA: dict[Language, dict[CtaStrength, tuple[tuple[str, ...], str]]] = {
    Language.zh: {
        CtaStrength.none: (("这就是{name}。", "{name}，等你来发现。"), ""),
        CtaStrength.soft: (("想了解更多，点进主页看看。", "感兴趣的话，可以先收藏这条视频。"), "了解更多"),
        CtaStrength.medium: (("点击下方链接，现在就{verb}。", "点下方按钮去{verb}吧。"), "点击{verb}"),
        CtaStrength.strong: (
            ("今天{verb}有限时优惠，周日截止。", "现在就点链接{verb}，活动本周结束。"),
            "限时优惠 周日截止",
        ),
    },
    Language.en: {
        CtaStrength.none: (("That's {name}.", "Meet {name}."), ""),
        CtaStrength.soft: (("Learn more on our page.", "Save this video for later."), "Learn more"),
        CtaStrength.medium: (("Tap the link below to {verb} now.", "Hit the button below to {verb}."), "{Verb} now"),
        CtaStrength.strong: (
            ("{Verb} today. The offer ends Sunday.", "Tap to {verb} now. This deal ends this week."),
            "Offer ends Sunday",
        ),
    },
}

_GENERIC_OFFER: dict[Language, tuple[str, str]] = {
    Language.zh: ("现在有新客专属礼遇，详情看活动页。", "新客有礼"),
    Language.en: ("New customers get a welcome offer this month.", "Welcome offer"),
}
_PROOF_CAPTION: dict[Language, str] = {Language.zh: "来自用户的评价", Language.en: "What customers say"}

_UNBOXING: dict[Language, dict[str, str]] = {
    Language.zh: {
        "goods": "开箱{name}，看看盒子里都有什么。",
        "auto": "提车当天，带你看看这台{name}。",
        "digital": "带你看看{name}里都有什么。",
    },
    Language.en: {
        "goods": "Unboxing {name}. Let's see what's inside.",
        "auto": "Delivery day: a first look at {name}.",
        "digital": "Here's a first look inside {name}.",
    },
}
_DIGITAL = frozenset({Industry.games, Industry.education, Industry.finance, Industry.travel})

_HOOK_VISUAL: dict[Language, dict[HookType, str]] = {
    Language.zh: {
        HookType.question: "{look}放在画面中央，问句以大字幕弹出",
        HookType.pain_point: "人物皱眉的近景特写，随后{look}入画",
        HookType.surprising_fact: "大号数字字幕弹出，背景是{look}",
        HookType.before_after: "左右分屏：左边是使用前，右边是使用后，中间是{look}",
        HookType.price_reveal: "{look}旁边弹出价格标签",
        HookType.testimonial: "一位用户面对镜头讲述，画面一角是{look}",
        HookType.demo: "开场即上手演示{look}",
        HookType.story: "生活短剧开场，主角和{look}同框",
        HookType.unboxing: "双手拆开包装，取出{look}",
    },
    Language.en: {
        HookType.question: "{look} center frame as the question pops up in big text",
        HookType.pain_point: "Close-up of a frustrated face, then {look} enters the frame",
        HookType.surprising_fact: "A big number pops up over {look}",
        HookType.before_after: "Split screen: before on the left, after on the right, {look} in the middle",
        HookType.price_reveal: "A price tag pops up next to {look}",
        HookType.testimonial: "A customer talks to camera, with {look} in the corner",
        HookType.demo: "Opens straight on a hands-on demo of {look}",
        HookType.story: "A short scene opens with the main character beside {look}",
        HookType.unboxing: "Hands open the package and lift out {look}",
    },
}
_UNBOXING_VISUAL_DIGITAL: dict[Language, str] = {
    Language.zh: "手指点开手机屏幕，{look}出现",
    Language.en: "A finger taps the phone screen and {look} appears",
}

_DEMO_VISUAL_DIGITAL: dict[Language, str] = {
    Language.zh: "分步骤展示{look}",
    Language.en: "A step-by-step look at {look}",
}

#: Visuals per role: (without presenter, with presenter).
_ROLE_VISUAL: dict[Language, dict[ShotRole, tuple[str, str]]] = {
    Language.zh: {
        ShotRole.problem: ("生活场景：人物遇到麻烦，表情无奈", "主播皱眉，讲起自己遇到的麻烦"),
        ShotRole.demo: ("近景演示{look}的使用过程", "主播手持{look}现场演示"),
        ShotRole.feature: ("{look}细节特写，字幕标出卖点", "主播指着{look}的细节讲解"),
        ShotRole.proof: ("用户评价截图和使用场景交替出现", "主播念出一条用户评价，背景是评价截图"),
        ShotRole.offer: ("{look}居中，优惠信息弹出", "主播举起{look}，旁边弹出优惠信息"),
        ShotRole.cta: ("{look}定格，屏幕下方出现按钮动效", "主播指向屏幕下方的按钮"),
    },
    Language.en: {
        ShotRole.problem: (
            "Everyday scene: someone runs into the problem, looking fed up",
            "The presenter frowns and describes the problem",
        ),
        ShotRole.demo: ("Close-up demo of {look} in use", "The presenter demonstrates {look} on camera"),
        ShotRole.feature: (
            "Detail shot of {look} with the selling point on screen",
            "The presenter points out a detail of {look}",
        ),
        ShotRole.proof: (
            "Customer reviews cut with real-use moments",
            "The presenter reads a customer review over a screenshot",
        ),
        ShotRole.offer: ("{look} centered as the offer appears", "The presenter holds up {look} as the offer appears"),
        ShotRole.cta: ("{look} holds on screen as a button animates below", "The presenter points to the button below"),
    },
}

_PRESENTERS: dict[Language, tuple[str, ...]] = {
    Language.zh: ("二十多岁的女主播，米色针织衫", "三十岁左右的男主播，深蓝衬衫", "四十岁左右的女主播，白色西装"),
    Language.en: (
        "a presenter in her twenties in a beige sweater",
        "a presenter in his thirties in a navy shirt",
        "a presenter in her forties in a white blazer",
    ),
}
_STYLES: dict[Language, tuple[str, ...]] = {
    Language.zh: ("明亮干净的棚拍，暖色调", "自然光的生活化场景", "高饱和色彩，快节奏剪辑"),
    Language.en: (
        "bright, clean studio look with warm tones",
        "natural light, everyday settings",
        "saturated colors with quick cuts",
    ),
}
_HOOK_LABEL: dict[Language, dict[HookType, str]] = {
    Language.zh: {
        HookType.question: "提问开场",
        HookType.pain_point: "痛点开场",
        HookType.surprising_fact: "数据开场",
        HookType.before_after: "前后对比",
        HookType.price_reveal: "价格开场",
        HookType.testimonial: "用户证言",
        HookType.demo: "演示开场",
        HookType.story: "剧情开场",
        HookType.unboxing: "开箱开场",
    },
    Language.en: {
        HookType.question: "question hook",
        HookType.pain_point: "pain-point hook",
        HookType.surprising_fact: "fact hook",
        HookType.before_after: "before/after hook",
        HookType.price_reveal: "price hook",
        HookType.testimonial: "testimonial hook",
        HookType.demo: "demo hook",
        HookType.story: "story hook",
        HookType.unboxing: "unboxing hook",
    },
}

#: Middle-shot roles in order of preference for each angle (cut to the shot count).
_MIDDLE_ROLES: dict[Angle, tuple[ShotRole, ...]] = {
    Angle.value: (ShotRole.feature, ShotRole.demo, ShotRole.proof, ShotRole.feature, ShotRole.feature, ShotRole.offer),
    Angle.quality: (
        ShotRole.feature,
        ShotRole.demo,
        ShotRole.feature,
        ShotRole.proof,
        ShotRole.feature,
        ShotRole.feature,
    ),
    Angle.convenience: (
        ShotRole.demo,
        ShotRole.feature,
        ShotRole.feature,
        ShotRole.proof,
        ShotRole.feature,
        ShotRole.demo,
    ),
    Angle.social_proof: (
        ShotRole.proof,
        ShotRole.demo,
        ShotRole.feature,
        ShotRole.feature,
        ShotRole.proof,
        ShotRole.feature,
    ),
    Angle.emotion: (
        ShotRole.problem,
        ShotRole.demo,
        ShotRole.feature,
        ShotRole.proof,
        ShotRole.feature,
        ShotRole.feature,
    ),
    Angle.problem_solution: (
        ShotRole.problem,
        ShotRole.demo,
        ShotRole.feature,
        ShotRole.proof,
        ShotRole.feature,
        ShotRole.feature,
    ),
    Angle.novelty: (ShotRole.demo, ShotRole.feature, ShotRole.feature, ShotRole.demo, ShotRole.proof, ShotRole.feature),
}

_PLATFORMS: dict[Language, tuple[tuple[Platform, ...], tuple[float, ...]]] = {
    Language.zh: (
        (Platform.douyin, Platform.kuaishou, Platform.xiaohongshu, Platform.wechat_channels),
        (0.40, 0.20, 0.25, 0.15),
    ),
    Language.en: (
        (Platform.tiktok, Platform.instagram_reels, Platform.youtube_shorts, Platform.facebook),
        (0.40, 0.25, 0.20, 0.15),
    ),
}
_AVG_SHOT_S: dict[Pacing, tuple[float, float]] = {
    Pacing.fast: (2.5, 3.5),
    Pacing.medium: (3.5, 5.0),
    Pacing.slow: (5.0, 7.0),
}


def _join(parts: list[str], language: Language) -> str:
    return ("" if language is Language.zh else " ").join(parts)


def _needed_s(text: str, language: Language) -> float:
    """Shortest shot that fits ``text`` at the speaking rate, rounded up to 0.1 s."""
    if not text:
        return 1.0
    return math.ceil((speaking_time_s(text, language) + _PAD_S) * 10) / 10


def _clause(text: str, language: Language) -> str:
    """The first clause of a line (of the quote, for a testimonial), or "" if too long for a caption."""
    quoted = re.search(r"[\"“](.+?)[\"”]", text)
    if quoted:
        text = quoted.group(1)
    elif "：" in text:
        text = text.split("：", 1)[1]
    first = re.split(r"[，,。.？?！!：:]", text, maxsplit=1)[0].strip()
    substantial = speech_units(first, language) >= (3 if language is Language.zh else 2)
    return first if substantial and caption_fits(first, language) else ""


def _caption_for(line: str, points: tuple[str, ...], language: Language) -> str:
    """A caption for a spoken line: its first clause if short, else the selling point it shares most with."""
    clause = _clause(line, language)
    if clause:
        return clause

    def tokens(text: str) -> set[str]:
        if language is Language.zh:
            return set(re.findall(r"\w", text))
        return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 3}

    said = tokens(line)
    overlap, best = max((len(said & tokens(p)), p) for p in points)
    return best if overlap >= 2 or (language is Language.en and overlap >= 1) else ""


def _hook_line(product: _Product, hook_type: HookType, industry: Industry, language: Language) -> str:
    if hook_type is HookType.unboxing:
        kind = "auto" if industry is Industry.auto else "digital" if industry in _DIGITAL else "goods"
        return upper_first(_UNBOXING[language][kind].format(name=product.name))
    return {
        HookType.question: product.question,
        HookType.pain_point: product.pain,
        HookType.surprising_fact: product.fact,
        HookType.before_after: product.before_after,
        HookType.price_reveal: product.price_hook,
        HookType.testimonial: product.quote,
        HookType.demo: product.demo,
        HookType.story: product.story,
    }[hook_type]


def _choice(rng: np.random.Generator, items: Sequence[T], p: Sequence[float] | None = None) -> T:
    return items[int(rng.choice(len(items), p=p))]


def _make_item(index: int, seed: int, model: ResponseModel) -> LibraryItem:
    """Item ``index`` of the library for ``seed``; independent of how many items are made."""
    rng = np.random.default_rng([seed, index])
    industry = list(Industry)[index % len(Industry)]
    language = (Language.zh, Language.en)[(index // len(Industry)) % 2]
    product: _Product = _choice(rng, (_ZH if language is Language.zh else _EN)[industry])
    platforms, weights = _PLATFORMS[language]
    platform: Platform = _choice(rng, platforms, weights)
    aspect: Aspect = _choice(rng, (Aspect.portrait, Aspect.square, Aspect.landscape), (0.75, 0.15, 0.10))
    hook_type: HookType = _choice(rng, list(HookType))
    angle: Angle = _choice(rng, list(Angle))
    pacing: Pacing = _choice(rng, list(Pacing), (0.30, 0.45, 0.25))
    cta_strength: CtaStrength = _choice(rng, list(CtaStrength), (0.10, 0.25, 0.40, 0.25))
    price_mentioned = hook_type is HookType.price_reveal or bool(rng.random() < 0.45)
    has_presenter = bool(rng.random() < (0.7 if hook_type in (HookType.testimonial, HookType.story) else 0.35))
    caption_policy = _choice(rng, ("full", "most", "light"), (0.5, 0.3, 0.2))

    # Shot plan: target length and count follow pacing.
    target_s = float(np.clip(rng.lognormal(math.log(20.0), 0.4), _MIN_S, _MAX_S))
    avg_shot = float(rng.uniform(*_AVG_SHOT_S[pacing]))
    n_shots = int(np.clip(round(target_s / avg_shot), _MIN_SHOTS, _MAX_SHOTS))
    middle = list(_MIDDLE_ROLES[angle][: n_shots - 2])
    if hook_type is HookType.pain_point:  # the hook already names the problem
        middle = [ShotRole.demo if r is ShotRole.problem else r for r in middle]
    if (price_mentioned and hook_type is not HookType.price_reveal) or angle is Angle.value:
        if ShotRole.offer not in middle:
            middle[-1] = ShotRole.offer
    roles = [ShotRole.hook, *middle, ShotRole.cta]

    # Lines: each sentence is used at most once per script.
    verb = _VERB[language][industry]
    cta_lines, cta_caption = _CTA[language][cta_strength]
    fmt = {"name": product.name, "verb": verb, "Verb": upper_first(verb)}
    cta = upper_first(_choice(rng, cta_lines).format(**fmt))
    hook = _hook_line(product, hook_type, industry, language)
    features = list(product.features)
    rng.shuffle(features)
    pools: dict[ShotRole, list[str]] = {
        ShotRole.hook: [],
        ShotRole.offer: [],
        ShotRole.cta: [],
        ShotRole.problem: [product.pain],
        ShotRole.demo: [product.demo],
        ShotRole.feature: features,
        ShotRole.proof: [product.proof, product.quote],
    }
    used = {hook}
    offer_line, offer_cap = (product.offer, product.price_cap) if price_mentioned else _GENERIC_OFFER[language]

    def peek(role: ShotRole, fallback: bool = True) -> tuple[list[str], str] | None:
        """The next unused line for ``role`` (then features, then proof, if ``fallback``) and its pool."""
        order = (pools[role], pools[ShotRole.feature], pools[ShotRole.proof]) if fallback else (pools[role],)
        for pool in order:
            while pool and pool[0] in used:
                pool.pop(0)
            if pool:
                return pool, pool[0]
        return None

    def spare_lines() -> int:
        return len({line for r in (ShotRole.feature, ShotRole.proof) for line in pools[r]} - used)

    def take(found: tuple[list[str], str]) -> str:
        pool, line = found
        pool.pop(0)
        used.add(line)
        return line

    # Hook and CTA get their spoken time plus a beat; the middle shots share the rest of the target.
    hook_s = _needed_s(hook, language) + float(rng.uniform(0.0, 0.8))
    cta_s = _needed_s(cta, language) + float(rng.uniform(0.0, 1.0))
    mid_w = rng.uniform(0.8, 1.2, size=len(middle))
    mid_plan = max(target_s - hook_s - cta_s, 0.0) * mid_w / mid_w.sum()
    planned = [hook_s, *(float(x) for x in mid_plan), cta_s]

    narrations: list[str] = []
    captions: list[str] = []
    needed: list[float] = []
    durations: list[float] = []
    for role, plan in zip(roles, planned, strict=True):
        if role is ShotRole.hook:
            lines, caption = [hook], _caption_for(hook, product.points, language) or product.points[0]
        elif role is ShotRole.cta:
            lines, caption = [cta], cta_caption.format(**fmt)
        elif role is ShotRole.offer:
            lines, caption = [offer_line], offer_cap
        else:
            found = peek(role)
            lines = [take(found)] if found else []
            # Extra lines only for feature/demo shots (problem and proof stay on topic), and only
            # while every later middle shot still has a line of its own.
            more = role in (ShotRole.feature, ShotRole.demo)
            while lines and (found := peek(role, fallback=more)) is not None:
                later = sum(1 for r in roles[len(narrations) + 1 : -1] if r is not ShotRole.offer)
                if spare_lines() <= later:
                    break
                if _needed_s(_join([*lines, found[1]], language), language) > plan:
                    break
                lines.append(take(found))
            if role is ShotRole.proof:
                caption = _PROOF_CAPTION[language]
            elif role is ShotRole.problem:
                caption = _clause(lines[0], language) if lines else ""
            else:
                caption = _caption_for(lines[0], product.points, language) if lines else ""
        text = _join(lines, language)
        narrations.append(text)
        captions.append(caption if caption_fits(caption, language) else "")
        needed.append(_needed_s(text, language))
        longest = max(needed[-1] + 3.0, 2 * needed[-1])  # more picture than this reads as dead air
        durations.append(max(needed[-1], math.ceil(min(plan, longest) * 10) / 10))

    # Keep the total inside 8–45 s: trim slack when long, give middle shots more picture when short.
    total = sum(durations)
    if total > _MAX_S:
        slack = [d - m for d, m in zip(durations, needed, strict=True)]
        cut = (total - _MAX_S) / max(sum(slack), 1e-9)
        durations = [math.floor((d - s * min(cut, 1.0)) * 10) / 10 for d, s in zip(durations, slack, strict=True)]
        durations = [max(d, m) for d, m in zip(durations, needed, strict=True)]
    elif total < _MIN_S:
        extra = math.ceil((_MIN_S - total) / (len(roles) - 2) * 10) / 10
        durations = [d + extra if 0 < i < len(roles) - 1 else d for i, d in enumerate(durations)]

    # Captions: "most" drops every third middle caption, "light" keeps only hook and CTA.
    for i in range(1, len(roles) - 1):
        if caption_policy == "light" or (caption_policy == "most" and i % 3 == 0):
            captions[i] = ""

    presenter = _choice(rng, _PRESENTERS[language]) if has_presenter else ""
    look = product.look
    shots = []
    for i, role in enumerate(roles):
        if role is ShotRole.hook:
            template = _HOOK_VISUAL[language][hook_type]
            if hook_type is HookType.unboxing and industry in _DIGITAL:
                template = _UNBOXING_VISUAL_DIGITAL[language]
        elif role is ShotRole.demo and industry in _DIGITAL and not presenter:
            template = _DEMO_VISUAL_DIGITAL[language]
        else:
            template = _ROLE_VISUAL[language][role][1 if presenter else 0]
        shots.append(
            Shot(
                index=i,
                role=role,
                duration_s=round(durations[i], 1),
                visual=upper_first(template.format(look=look)),
                narration=narrations[i],
                caption=captions[i],
            )
        )

    title_name = product.name.removeprefix("the ")
    sep = "｜" if language is Language.zh else " – "
    title = upper_first(f"{title_name}{sep}{_HOOK_LABEL[language][hook_type]}")
    script = Script(
        id=f"scr_s{seed}_{index + 1:04d}",
        language=language,
        industry=industry,
        platform=platform,
        aspect=aspect,
        title=title,
        hook=hook,
        hook_type=hook_type,
        angle=angle,
        pacing=pacing,
        cta=cta,
        cta_strength=cta_strength,
        price_mentioned=price_mentioned,
        selling_points=list(product.points),
        shots=shots,
        subject_sheet=SubjectSheet(product=look, presenter=presenter, brand_style=_choice(rng, _STYLES[language])),
        provenance=Provenance(path="sample", seed=seed),
    )

    impressions = int(np.clip(round(rng.lognormal(math.log(80_000), 1.2)), 5_000, 2_000_000))
    performance = simulate_performance(CreativeAttributes.from_script(script), impressions, rng, model)
    created_at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=int(rng.integers(0, 365 * 86_400)))
    return LibraryItem(
        id=f"lib_s{seed}_{index + 1:04d}",
        title=title,
        industry=industry,
        platform=platform,
        language=language,
        aspect=aspect,
        script=script,
        performance=performance,
        source="sample",
        created_at=created_at,
    )


def generate_sample_library(n: int = 400, seed: int = 7, model: ResponseModel | None = None) -> list[LibraryItem]:
    """``n`` sample creatives for ``seed``; the performance comes from ``model`` (default seeded by ``seed``).

    Item ``i`` depends only on ``(seed, i)``, so a smaller library is a prefix of a larger one.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    model = model or ResponseModel(seed=seed)
    return [_make_item(i, seed, model) for i in range(n)]


def write_sample_library(path: Path, n: int = 400, seed: int = 7) -> Path:
    """Write the sample library as JSONL (one :class:`LibraryItem` per line); returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [item.model_dump_json() for item in generate_sample_library(n, seed)]
    path.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
    return path

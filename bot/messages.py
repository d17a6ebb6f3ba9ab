"""Every text shown to citizens, in one place so it can be reviewed and translated."""

TOPIC_NAMES = {
    "vneid": "VNeID và định danh điện tử",
    "dichvucong": "Dịch vụ công trực tuyến",
    "thanhtoan": "Thanh toán không dùng tiền mặt",
    "luadao": "Phòng tránh lừa đảo trên mạng",
    "taikhoan": "Bảo vệ tài khoản và thông tin",
    "hokinhdoanh": "Hộ kinh doanh và bán hàng trực tuyến",
    "phongtrao": "Phong trào Bình dân học vụ số",
    "nq57": "Nghị quyết 57-NQ/TW",
    "kehoach": "Kế hoạch của tỉnh, xã, phường",
}

DECLINE = (
    "Xin lỗi, tôi chưa có câu trả lời chắc chắn cho câu hỏi này nên không muốn trả lời sai.\n"
    "Bác có thể hỏi lại theo cách khác, chọn một chủ đề gợi ý, "
    "hoặc gửi câu hỏi cho Tổ công nghệ số cộng đồng để cán bộ trả lời."
)
DECLINE_EMPTY = "Bác chưa nhập câu hỏi. Bác hãy gõ câu hỏi, ví dụ: «Cách kích hoạt VNeID mức 2?»"
SOURCE_PREFIX = "Nguồn"
RELATED_HEADER = "Câu hỏi liên quan"
CLOSEST_TOPICS = "Chủ đề gần nhất"

# --- the three ways to answer (bot/render.py) ---
MATCHED_QUESTION = "Về câu hỏi: «{question}»"
CONTINUED = "(tiếp, phần {page}/{pages})"
CLARIFY = "Có phải bác muốn hỏi:"
WRONG_MATCH = "Xin lỗi bác. Có phải bác muốn hỏi một trong các câu dưới đây? Nếu không, bác chọn «Hỏi cán bộ»."
WRONG_MATCH_NONE = "Xin lỗi bác. Bác có thể hỏi lại theo cách khác, hoặc chọn «Hỏi cán bộ» để cán bộ trả lời."
NOTHING_MORE = "Câu trả lời đã hết rồi ạ. Bác cứ gõ câu hỏi mới nhé."
BUTTON_SEE_MORE = "▶️ Xem tiếp"
BUTTON_WRONG_MATCH = "❓ Không đúng câu tôi hỏi"

# --- small talk and plain-word commands (bot/intents.py) ---
GREETING = (
    "Chào bác! Bác chọn một chủ đề bên dưới để xem các câu hỏi thường gặp, "
    "hoặc gõ câu hỏi của bác, có dấu hay không dấu đều được."
)
THANKS = "Dạ, không có gì ạ. Bác cần hỏi thêm gì cứ nhắn nhé."
HUMAN_ASK = "Bác hãy gõ câu hỏi muốn gửi cho cán bộ, tôi sẽ chuyển ngay cho Tổ công nghệ số cộng đồng."
BUTTON_SEND_LAST = "📨 Gửi câu vừa hỏi cho cán bộ"

# --- emergencies (bot/intents.py) ---
# National emergency numbers: 113 Công an, 114 Cứu hỏa, 115 Cấp cứu y tế (Thông tư 22/2014/TT-BTTTT of the
# Ministry of Information and Communications, 22/12/2014, Quy hoạch kho số viễn thông, Phụ lục 3, "số dịch vụ
# khẩn cấp"); 114 also for cứu nạn, cứu hộ by the fire and rescue police, as restated with 112 in Quyết định
# 2023/QĐ-TTg of the Prime Minister, 15/9/2025 (as reported by vneconomy.vn and sggp.org.vn, 15/9/2025).
# Checked 2026-12-01.
EMERGENCY = (
    "🚨 Nếu đang có người gặp nguy hiểm, bác hãy gọi ngay:\n"
    "• 113: Công an (bị đánh, cướp, bắt cóc)\n"
    "• 114: Cứu hỏa, cứu nạn cứu hộ (cháy, nổ, người gặp nạn)\n"
    "• 115: Cấp cứu y tế (ốm nặng, bị thương)\n"
    "Khi gọi, bác nói rõ địa chỉ và chuyện đang xảy ra. Tôi là trợ lý tự động, không gọi giúp được."
)

WELCOME = (  # the topics are the buttons below it, however many there are
    "Xin chào {name}! Tôi là trợ lý của phong trào «Bình dân học vụ số».\n"
    "Bác chọn một trong {count} chủ đề bên dưới để xem các câu hỏi thường gặp, "
    "hoặc gõ câu hỏi của bác, có dấu hay không dấu đều được."
)
WELCOME_NAME = "bác"
HELP = (
    "Cách dùng:\n"
    "• Gõ câu hỏi bất kỳ, ví dụ: «cách kích hoạt VNeID mức 2».\n"
    "• Câu trả lời dài: gõ «xem tiếp» để đọc phần sau.\n"
    "• /chude: xem câu hỏi theo chủ đề.\n"
    "• «đăng ký nhận tin» hoặc /dangky: nhận tin của xã, phường. «hủy đăng ký» hoặc /huydangky: dừng nhận tin.\n"
    "• /quiz: trả lời câu đố. /diem: xem điểm của bác. /thi: dự thi trực tuyến.\n"
    "• «gặp cán bộ» hoặc /canbo <câu hỏi>: gửi câu hỏi cho Tổ công nghệ số cộng đồng.\n"
    "• /theodoi <mã câu hỏi>: xem cán bộ đã trả lời câu hỏi của bác chưa.\n"
    "• «làm lại»: về màn hình đầu."
)
TOPICS_PROMPT = "Bác muốn tìm hiểu chủ đề nào?"
TOPIC_QUESTIONS = "Các câu hỏi thường gặp về «{topic}»:"
TOPIC_QUESTIONS_PAGE = "Các câu hỏi thường gặp về «{topic}» (câu {first} đến {last} trong {total}):"
BUTTON_MORE_QUESTIONS = "▶️ Các câu hỏi tiếp theo (còn {count})"
CHOICE_PROMPT = "Gõ số để chọn (ví dụ: 1)."
QUIZ_CHOICE_PROMPT = "Gõ chữ cái để trả lời (A, B, C hoặc D)."
CHOICE_UNKNOWN = "Số bác chọn không có trong danh sách. Bác hãy gõ lại số khác, hoặc gõ câu hỏi mới."

BUTTON_LIKE = "👍 Hữu ích"
BUTTON_DISLIKE = "👎 Chưa đúng"
BUTTON_ESCALATE = "🙋 Hỏi cán bộ"
BUTTON_ALL_AREAS = "Toàn quốc"
FEEDBACK_THANKS = "Cảm ơn bác đã góp ý!"
FEEDBACK_SORRY = "Cảm ơn bác! Nếu câu trả lời chưa đúng, bác có thể gửi câu hỏi cho cán bộ."

FAQ_NOT_ALLOWED = (
    "có số điện thoại hoặc địa chỉ web không nằm trong danh sách chính thức (knowledge/allowlist/): {items}. "
    "Hãy bỏ đi, hoặc bổ sung vào danh sách kèm nguồn chính thức trước"
)
ESCALATE_TOO_MANY = (
    "Bác đã gửi nhiều câu hỏi cho cán bộ trong một giờ qua. Cán bộ sẽ trả lời lần lượt. "
    "Bác vui lòng chờ, rồi gửi tiếp sau ít phút."
)
ESCALATE_ASK = HUMAN_ASK
ESCALATE_WHICH_AREA = (
    "Bác ở xã, phường hay tỉnh nào? Tôi sẽ chuyển câu hỏi cho cán bộ ở đó.\n"
    "Bác chọn bên dưới, hoặc gõ tên xã, phường (có dấu hay không dấu đều được)."
)
ESCALATE_AREA_UNKNOWN = (
    "Tôi chưa tìm thấy khu vực «{query}». Bác chọn bên dưới, hoặc gõ lại tên xã, phường. "
    "Nếu không rõ, bác chọn «Tôi không rõ khu vực»."
)
BUTTON_AREA_UNKNOWN = "Tôi không rõ khu vực"
ESCALATED = (
    "Đã gửi câu hỏi #{id} của bác cho Tổ công nghệ số cộng đồng.\n"
    "Mã câu hỏi: {code}\n"
    "Bác gõ /theodoi {code} để xem cán bộ đã trả lời chưa, ở trang web hay ứng dụng nhắn tin nào cũng được.\n"
    "{promise}\n"
    "Câu trả lời sẽ đến ngay trong cuộc trò chuyện này. Nếu cần gấp, bác có thể đến Ủy ban nhân dân xã, phường nơi bác ở."
)
ESCALATION_PROMISE = "Cán bộ trả lời trong giờ hành chính, thường trong {hours} giờ làm việc ({schedule})."
ESCALATION_OUT_OF_HOURS = "Bây giờ là ngoài giờ làm việc: cán bộ sẽ bắt đầu xem câu hỏi từ {when}."
ESCALATION_EXCEPT_HOLIDAYS = ", trừ ngày lễ, Tết"  # after the working days and hours in ESCALATION_PROMISE
ESCALATION_MOVED_UP = (
    "Câu hỏi {code} của bác chưa được trả lời đúng hạn, nên tôi đã chuyển lên cán bộ {to} để trả lời sớm hơn. "
    "Xin lỗi bác vì phải chờ lâu."
)
RELAY_ADMINS = "điều phối của phong trào"

SUBSCRIBE_PROMPT = "Bác muốn nhận tin của khu vực nào? Chọn bên dưới, hoặc gõ tên xã, phường, tỉnh sau /dangky."
SUBSCRIBED = "Bác đã đăng ký nhận tin của {area}. Gõ «hủy đăng ký» để dừng bất cứ lúc nào."
SUBSCRIBE_UNKNOWN = "Tôi chưa tìm thấy khu vực «{query}». Bác hãy chọn trong danh sách bên dưới."
UNSUBSCRIBED = "Bác đã dừng nhận tin. Khi muốn nhận lại, gõ «đăng ký nhận tin»."
NOT_SUBSCRIBED = "Bác chưa đăng ký nhận tin. Gõ «đăng ký nhận tin» để đăng ký."

QUIZ_EMPTY = "Hiện chưa có câu đố nào. Bác quay lại sau nhé."
QUIZ_RIGHT = "✅ Chính xác! {explanation}"
QUIZ_WRONG = "❌ Chưa đúng. Đáp án đúng là: {answer}. {explanation}"
QUIZ_ALREADY = "Bác đã trả lời câu này rồi. Gõ /quiz để nhận câu mới."
SCORE = "Bác đã trả lời đúng {right}/{total} câu đố."
SCORE_NONE = "Bác chưa trả lời câu đố nào. Gõ /quiz để bắt đầu."

FLOOD = "Bác gửi nhanh quá. Xin chờ ít giây rồi gửi tiếp nhé."
UNKNOWN_COMMAND = "Tôi chưa hiểu lệnh «/{command}». Gõ /help để xem các lệnh, hoặc gõ câu hỏi của bác."
NOT_TEXT = "Hiện tôi chỉ đọc được tin nhắn chữ. Bác hãy gõ câu hỏi bằng chữ nhé."
UNSUPPORTED_ACCOUNT = "Xin lỗi, tôi chưa thể trò chuyện với tài khoản này."
RETRY_LATER = "Xin lỗi, hệ thống đang bận. Bác vui lòng thử lại sau ít phút."

# --- web chat API (bot/channels/web_api.py): shown to people when a request is refused ---
WEB_BAD_REQUEST = "Yêu cầu không hợp lệ. Bác hãy tải lại trang rồi thử lại."
WEB_TOO_LARGE = "Tin nhắn quá dài. Bác hãy hỏi ngắn gọn hơn."
WEB_NEED_QUESTION = "Bác chưa nhập câu hỏi. Bác hãy gõ câu hỏi, ví dụ: «Cách kích hoạt VNeID mức 2?»"
WEB_NOT_FOUND = "Không tìm thấy trang bác cần."
WEB_ERROR = "Xin lỗi, hệ thống gặp sự cố. Bác vui lòng thử lại sau ít phút."

# --- relay inbox and roles (bot/relay/): community team members and admins ---
RELAY_ROLE_NAMES = {"team": "thành viên Tổ công nghệ số cộng đồng", "admin": "quản trị viên"}
RELAY_TEAM_ONLY = "Lệnh này chỉ dành cho thành viên Tổ công nghệ số cộng đồng."
RELAY_ADMIN_ONLY = "Lệnh này chỉ dành cho quản trị viên."
RELAY_PRIVATE_ONLY = "Vì an toàn thông tin, bạn hãy dùng lệnh này trong tin nhắn riêng với bot, không dùng trong nhóm."
RELAY_AREA_UNKNOWN = "chưa rõ khu vực"
RELAY_WAIT_NOW = "vừa xong"
RELAY_WAIT_MINUTES = "{m} phút"
RELAY_WAIT_HOURS = "{h} giờ {m} phút"
RELAY_WAIT_DAYS = "{d} ngày {h} giờ"
RELAY_STATUS = {"open": "chưa ai nhận", "claimed": "đã có người nhận", "mine": "bạn đã nhận", "answered": "đã trả lời",
                "reopened": "người hỏi hỏi thêm, chờ trả lời", "overdue": "quá hạn, đã chuyển lên"}
RELAY_INBOX_EMPTY = "Hộp thư trống: không có câu hỏi nào đang chờ ở khu vực của bạn."
RELAY_INBOX_HEADER = "📥 {count} câu hỏi đang chờ (cũ nhất trước):"
RELAY_INBOX_ITEM = "#{id} · {area} · chờ {waited} · {status}\n{question}"
RELAY_FOLLOWUP_MARK = "↪ Hỏi thêm"
RELAY_INBOX_FOOTER = "Gõ /nhan <mã> để nhận, /traloi <mã> <nội dung> để trả lời."
RELAY_NOT_FOUND = "Không tìm thấy câu hỏi #{id} trong khu vực của bạn."
RELAY_CLAIM_USAGE = "Cách dùng: /nhan <mã câu hỏi>, ví dụ: /nhan 12"
RELAY_CLAIMED = "Bạn đã nhận câu hỏi #{id} ({area}):\n{question}\n\nTrả lời bằng: /traloi {id} <nội dung trả lời>"
RELAY_CLAIMED_BY_OTHER = "Câu hỏi #{id} đã có cán bộ khác nhận."
RELAY_ALREADY_ANSWERED = "Câu hỏi #{id} đã được trả lời. Nếu người hỏi hỏi thêm, câu hỏi sẽ mở lại."
RELAY_REPLY_USAGE = (
    "Cách dùng: /traloi <mã câu hỏi> <nội dung trả lời>, "
    "ví dụ: /traloi 12 Bác mang căn cước đến công an xã để được hỗ trợ."
)
RELAY_REPLY_SENT = "Đã gửi câu trả lời cho người hỏi #{id} và đóng câu hỏi. Gõ /luufaq {id} nếu muốn lưu thành câu hỏi thường gặp."
RELAY_REPLY_QUEUED = (
    "Đã lưu câu trả lời cho #{id} và đóng câu hỏi. Người hỏi dùng kênh khác, "
    "họ sẽ nhận được câu trả lời ngay khi nhắn tin cho bot."
)
RELAY_ANSWER = (
    "💬 Tổ công nghệ số cộng đồng trả lời câu hỏi #{id} của bác:\n\n{answer}\n\n"
    "Bác thấy câu trả lời này thế nào? Bác chọn 👍 hoặc 👎 bên dưới.\n"
    "Nếu cần hỏi thêm, chọn «Hỏi thêm» hoặc gõ: /canbo #{id} <điều bác muốn hỏi>"
)
RELAY_BUTTON_FOLLOWUP = "💬 Hỏi thêm"
RELAY_FOLLOWUP_ASK = "Bác hãy gõ điều muốn hỏi thêm về câu hỏi #{id}."
RELAY_FOLLOWUP_SENT = (
    "Đã chuyển điều bác hỏi thêm cho Tổ công nghệ số cộng đồng (mã #{id}). "
    "Cán bộ sẽ trả lời bác ngay trong cuộc trò chuyện này."
)
RELAY_FOLLOWUP_NOT_FOUND = "Không tìm thấy câu hỏi #{id} của bác. Gõ /canbo <câu hỏi> để gửi câu hỏi mới."
RELAY_NEW_QUESTION = (
    "📥 Câu hỏi mới #{id} · {area} · hạn trả lời {due}:\n{question}\n\n"
    "Bấm «Nhận» hoặc gõ /nhan {id} để nhận, /hopthu để xem tất cả."
)
RELAY_BUTTON_CLAIM = "✋ Nhận"
RELAY_REMINDER = "⏰ Nhắc việc: câu hỏi #{id} · {area} sắp đến hạn trả lời ({due}):\n{question}\n\nGõ /nhan {id} hoặc /traloi {id} <nội dung>."
RELAY_OVERDUE = (
    "⚠️ Câu hỏi #{id} của {area} đã quá hạn mà chưa có câu trả lời, nay chuyển lên {to}:\n{question}\n\n"
    "Gõ /nhan {id} để nhận, /traloi {id} <nội dung> để trả lời."
)
RELAY_STILL_OVERDUE = (
    "⚠️ Nhắc việc: câu hỏi #{id} · {area} đã quá hạn từ {due} mà vẫn chưa có câu trả lời:\n{question}\n\n"
    "Gõ /nhan {id} để nhận, /traloi {id} <nội dung> để trả lời."
)
RELAY_REOPENED = "🔁 Người hỏi #{id} · {area} hỏi thêm:\n{question}\n\nTrả lời bằng: /traloi {id} <nội dung trả lời>"
RELAY_SAVEFAQ_USAGE = "Cách dùng: /luufaq <mã câu hỏi đã trả lời>, ví dụ: /luufaq 12"
RELAY_SAVEFAQ_DONE = "Đã lưu bản nháp câu hỏi thường gặp số {draft} từ câu hỏi #{id}. Quản trị viên sẽ xem và duyệt."
RELAY_SAVEFAQ_NO_ANSWER = "Câu hỏi #{id} chưa có câu trả lời để lưu."
RELAY_SAVEFAQ_WHICH = "Câu hỏi #{id} có nhiều lượt hỏi và trả lời. Bạn muốn lưu lượt nào?"
RELAY_SAVEFAQ_TURN = "Lượt {n}. Hỏi: {question}\nTrả lời: {answer}"
RELAY_SAVEFAQ_PICK = "Gõ /luufaq {id} <số lượt>, ví dụ: /luufaq {id} {n}"

# --- citizens: following a question by its code, rating a team answer ---
TRACK_USAGE = "Bác gõ /theodoi kèm mã câu hỏi, ví dụ: /theodoi K7P2QX. Mã nằm trong tin nhắn xác nhận khi bác gửi câu hỏi."
TRACK_NOT_FOUND = "Tôi chưa tìm thấy câu hỏi có mã «{code}». Bác xem lại mã (6 ký tự, chữ và số) rồi gõ lại nhé."
TRACK_TOO_MANY = "Bác tra mã nhiều lần quá. Bác vui lòng chờ ít phút rồi thử lại."
TRACK_WAITING = "Câu hỏi {code} ({area}) đang chờ cán bộ trả lời."
TRACK_DUE = " Cán bộ sẽ trả lời trước {when}."
TRACK_MOVED_UP = " Câu hỏi đã được chuyển lên {to} để trả lời sớm hơn."
TRACK_CLAIMED = "Câu hỏi {code}: cán bộ đã nhận. Người nhận là một {who} ({area}), đang tìm câu trả lời cho bác."
TRACK_ANSWERED = "Câu hỏi {code} đã trả lời. Tổ công nghệ số cộng đồng trả lời bác:\n\n{answer}"
RATING_GOOD = "👍 Hài lòng"
RATING_BAD = "👎 Chưa hài lòng"
RATING_THANKS = "Cảm ơn bác đã cho biết! Chúc bác làm được việc cần làm."
RATING_SORRY = "Cảm ơn bác. Xin lỗi vì câu trả lời chưa giúp được bác. Bác có thể hỏi thêm: /canbo #{id} <điều bác muốn hỏi>"
RELAY_SEARCH_USAGE = "Cách dùng: /timkiem <từ khóa>, ví dụ: /timkiem kích hoạt VNeID"
RELAY_SEARCH_HEADER = "🔎 Kết quả cho «{query}»:"
RELAY_SEARCH_ITEM = "{n}. {title} ({source})"
RELAY_SEARCH_EMPTY = "Không tìm thấy nội dung phù hợp với «{query}»."
RELAY_SEARCH_FOOTER = "Chọn một kết quả để lấy thẻ trả lời gửi vào nhóm chat của tổ."
RELAY_CARD_USAGE = "Cách dùng: /thetraloi <từ khóa>, ví dụ: /thetraloi thanh toán QR"
CARD_BOT_LINK = "🤖 Hỏi thêm trợ lý Bình dân học vụ số: {url}"
RELAY_DUTY_ON = "Bạn đang trực: bot sẽ báo khi có câu hỏi mới ở khu vực của bạn. Gõ /truc tat để tạm nghỉ."
RELAY_DUTY_OFF = "Bạn đã tạm nghỉ trực: bot không báo câu hỏi mới nữa. Gõ /truc bat để trực lại."
RELAY_INVITE_USAGE = "Cách dùng: /moi team <khu vực hoặc all>, hoặc /moi admin. Ví dụ: /moi team dien-bien"
RELAY_INVITE_CREATED = (
    "Mã mời làm {role} ({area}): {code}\n"
    "Mã chỉ dùng một lần và hết hạn sau {hours} giờ. Người được mời gõ: /thamgia {code}"
)
RELAY_AREA_NOT_FOUND = "Tôi chưa tìm thấy khu vực «{query}». Hãy dùng mã như dien-bien, quang-ngai/dak-bla, hoặc all."
RELAY_JOIN_USAGE = "Cách dùng: /thamgia <mã mời>"
RELAY_JOIN_DONE = "Chào mừng bạn! Bạn đã là {role} ({area}). Gõ /help để xem các lệnh."
RELAY_JOIN_WRONG_CHANNEL = "Trang web chưa hỗ trợ vai trò cán bộ. Bạn hãy gõ mã mời này trong {channels}."
RELAY_JOIN_BAD = "Mã mời không đúng, đã được dùng hoặc đã hết hạn. Bạn hãy xin quản trị viên mã mới."
RELAY_REVOKE_USAGE = (
    "Cách dùng: /thuhoi <kênh:mã người dùng> [team|admin] [khu vực], "
    "ví dụ: /thuhoi {example}:12345 team dien-bien. Gõ /vaitro để xem danh sách."
)
RELAY_REVOKE_DONE = "Đã thu hồi {count} quyền của {user}."
RELAY_REVOKE_NONE = "{user} không có quyền nào như vậy."
RELAY_REVOKE_SELF = "Bạn không thể tự thu hồi quyền của mình trong trò chuyện; hãy dùng dòng lệnh trên máy chủ."
RELAY_ROLES_HEADER = "Danh sách vai trò:"
RELAY_ROLES_EMPTY = "Chưa có ai được cấp vai trò."
RELAY_ROLES_ITEM = "• {user} {name}: {role}, {area}{duty}"
RELAY_OFF_DUTY = " (đang nghỉ trực)"
RELAY_TEAM_HELP = (
    "\n\nLệnh cho Tổ công nghệ số cộng đồng:\n"
    "• /hopthu: câu hỏi đang chờ ở khu vực của bạn.\n"
    "• /nhan <mã>: nhận một câu hỏi. /traloi <mã> <nội dung>: trả lời người hỏi.\n"
    "• /luufaq <mã>: lưu câu trả lời tốt thành bản nháp câu hỏi thường gặp.\n"
    "• /timkiem <từ khóa>: tìm trong kho kiến thức. /thetraloi <từ khóa>: thẻ trả lời để chuyển tiếp vào nhóm.\n"
    "• /truc bat hoặc /truc tat: bật, tắt thông báo câu hỏi mới."
)
RELAY_ADMIN_HELP = (
    "\n\nLệnh quản trị:\n"
    "• /moi team <khu vực|all> hoặc /moi admin: tạo mã mời dùng một lần.\n"
    "• /vaitro: danh sách vai trò. /thuhoi <kênh:mã> [vai trò] [khu vực]: thu hồi quyền."
)

# --- campaigns and quiz pushes (bot/campaigns) ---
# --- online contests (bot/contests/chat.py, bot/contests/announce.py) ---
CONTEST_PRIVATE_ONLY = "Để dự thi, bác nhắn riêng cho tôi rồi gõ /thi nhé."
CONTEST_NONE = "Hiện chưa có cuộc thi nào đang mở. Khi có cuộc thi, tôi sẽ báo để bác tham gia."
CONTEST_PICK = "Đang có {count} cuộc thi. Bác chọn cuộc thi muốn tham gia:"
CONTEST_RULES = (
    "🏆 «{name}»{round}: {questions} câu hỏi, làm trong {limit}, mở đến {closes}.\n"
    "Câu trả lời sau thời gian đó không được tính. Mỗi người được thi {attempts} lần.\n"
    "Xếp hạng theo số câu đúng, rồi thời gian làm bài, rồi câu dự đoán. Bấm «Bắt đầu» khi bác sẵn sàng."
)
CONTEST_ROUND = " (vòng {number})"
BUTTON_CONTEST_START = "Bắt đầu"
CONTEST_START_WORDS = ("bat dau", "bắt đầu", "ok", "co", "có", "san sang", "sẵn sàng")
CONTEST_ASK_NAME = "Bước 1/4. Bác gõ tên sẽ hiện trên bảng xếp hạng (ví dụ: Bác Ba Mường Phăng)."
BUTTON_CONTEST_NAME = "Dùng tên «{name}»"
CONTEST_NAME_BAD = "Tên cần từ 2 đến {limit} ký tự và có chữ. Bác gõ lại tên nhé."
CONTEST_ASK_AREA = "Bước 2/4. Bác ở tỉnh, xã hay phường nào? Bác chọn bên dưới hoặc gõ tên."
CONTEST_AREA_UNKNOWN = "Tôi chưa tìm thấy «{query}» trong khu vực của cuộc thi. Bác chọn trong danh sách bên dưới."
CONTEST_ASK_PHONE = (
    "Bước 3/4. Bác có thể để lại số điện thoại để ban tổ chức liên hệ khi trao giải (không bắt buộc). "
    "Cán bộ chỉ thấy số đã che bớt. Bác gõ số điện thoại, hoặc bấm «Bỏ qua»."
)
BUTTON_CONTEST_SKIP = "Bỏ qua"
CONTEST_SKIP_WORDS = ("bo qua", "bỏ qua", "khong", "không", "skip")
CONTEST_PHONE_BAD = "Số điện thoại chưa đúng (10 số, ví dụ 0912 345 678). Bác gõ lại, hoặc bấm «Bỏ qua»."
CONTEST_PHONE_USED = "Số điện thoại này đã dự thi vòng này rồi (mỗi người {attempts} lần), nên không thi thêm được."
CONTEST_ASK_PREDICTION = "Bước 4/4. Dự đoán có bao nhiêu người trả lời đúng tất cả?\nBác gõ một số, ví dụ: 25."
CONTEST_PREDICTION_BAD = "Bác gõ một số từ 0 trở lên (chỉ chữ số), ví dụ: 25."
CONTEST_GO = "Bắt đầu tính giờ: {questions} câu, {limit}. Chúc bác thi tốt!"
CONTEST_QUESTION = "Câu {number}/{total}: {question}"
CONTEST_TIME_LEFT = "⏱ Còn {seconds} giây."
CONTEST_ANSWER_HINT = "Bác đang làm bài thi. Bác chọn một đáp án cho câu dưới đây."
CONTEST_RESULT = "Bác trả lời đúng {correct}/{total} trong {seconds} giây."
CONTEST_RANK = "Xếp hạng hiện tại của bác: {rank} trên {people} người. Kết quả chung cuộc sẽ được thông báo khi cuộc thi kết thúc."
CONTEST_LATE = "⏰ Đã hết giờ làm bài, câu trả lời vừa rồi không được tính."
CONTEST_STALE = "Câu này bác đã trả lời rồi."
CONTEST_ALREADY = (
    "Bác đã thi vòng này rồi (mỗi người được thi {attempts} lần). "
    "Kết quả lần thi của bác: đúng {correct}/{total} trong {seconds} giây."
)
CONTEST_CLOSED = "Cuộc thi này đã kết thúc, bác không thi tiếp được. Cảm ơn bác đã quan tâm!"
CONTEST_CANCELLED = "Đã dừng đăng ký dự thi. Khi muốn thi, bác gõ /thi."
CONTEST_OPENING = (
    "🏆 Cuộc thi «{name}»{round} đã mở, đến {closes}.\n"
    "{questions} câu hỏi, làm trong {limit}. Bác gõ /thi để tham gia."
)
CONTEST_REMINDER = "⏰ Cuộc thi «{name}»{round} còn mở đến {closes}. Bác nào chưa thi, gõ /thi để tham gia nhé."
CONTEST_RESULTS = "🏅 Kết quả cuộc thi «{name}»{round}: {people} người dự thi, {perfect} người đúng tất cả."
CONTEST_RESULTS_LINE = "{rank}. {name} ({area}): đúng {correct}/{total}, {seconds} giây"
CONTEST_RESULTS_PRIZE = "{prize}: {name} ({area}), đúng {correct}/{total}, {seconds} giây"
CONTEST_RESULTS_THANKS = "Cảm ơn bà con đã tham gia!"
CONTEST_MINUTES = "{minutes} phút"
CONTEST_MINUTES_SECONDS = "{minutes} phút {seconds} giây"
CONTEST_SECONDS = "{seconds} giây"

CAMPAIGN_FOOTER = "\n\n(Gõ «hủy đăng ký» để dừng nhận tin.)"
CAMPAIGN_QUIZ_REVEAL = "💡 Đáp án câu đố: {question}\nĐáp án đúng: {answer}. {explanation}\nGõ /diem để xem điểm của bác."

# --- admin reports (bot/admin/reports.py): labels of the workbook, the summary and the chart ---
REPORT_TITLE = "Báo cáo chatbot Bình dân học vụ số, kỳ {period}"
REPORT_PERIOD_MONTH = "tháng {month}/{year}"
REPORT_PERIOD_HALF = "6 tháng {half} năm {year}"
REPORT_PERIOD_YEAR = "năm {year}"
REPORT_HALVES = {1: "đầu", 2: "cuối"}
REPORT_NA = "không có số liệu"
REPORT_SHEETS = {
    "summary": "Tổng quan",
    "timeline": "Theo thời gian",
    "topics": "Chủ đề",
    "gaps": "Câu hỏi chưa trả lời",
    "subscribers": "Người đăng ký",
    "deliveries": "Gửi tin chiến dịch",
    "quiz": "Câu đố",
    "contests": "Cuộc thi",
    "handoff": "Cán bộ trả lời theo khu vực",
    "clusters": "Chủ đề còn thiếu",
}
REPORT_METRICS = {
    "asked": "Số câu hỏi",
    "answered": "Bot trả lời được",
    "answered_disliked": "Bot trả lời nhưng bị 👎",
    "declined": "Bot chưa trả lời được",
    "escalated": "Chuyển cán bộ",
    "human_answered": "Cán bộ đã trả lời",
    "median_human_minutes": "Thời gian chờ cán bộ trả lời (trung vị, phút)",
    "likes": "Lượt 👍",
    "dislikes": "Lượt 👎",
    "like_share": "Tỷ lệ 👍 trên tổng lượt đánh giá (%)",
    "subscribers": "Người đăng ký nhận tin (cuối kỳ)",
    "new_subscribers": "Đăng ký mới trong kỳ",
    "deliveries_sent": "Tin chiến dịch đã gửi",
    "quiz_answers": "Lượt trả lời câu đố",
    "quiz_participants": "Người tham gia câu đố",
    "quiz_score": "Tỷ lệ trả lời đúng câu đố (%)",
}
REPORT_COLUMNS = {
    "metric": "Chỉ số", "value": "Giá trị", "bucket": "Thời gian", "topic": "Chủ đề", "count": "Số lượt",
    "question": "Câu hỏi", "area": "Khu vực", "total": "Tổng cuối kỳ", "new": "Mới trong kỳ", "status": "Trạng thái",
    "quiz_id": "Mã câu đố", "correct_pct": "Đúng (%)",
    "escalated": "Câu hỏi chuyển cán bộ", "median_minutes": "Thời gian đến câu trả lời đầu (trung vị, phút)",
    "p90_minutes": "Thời gian đến câu trả lời đầu (90% câu hỏi, phút)", "within_sla": "Trả lời đúng hạn (%)",
    "satisfied": "Người hỏi hài lòng (% 👍)",
    "rank": "Hạng", "label": "Câu hỏi tiêu biểu", "times_asked": "Số lượt hỏi", "areas": "Khu vực",
    "example": "Ví dụ {n}",
}
REPORT_NO_AREA = "chưa rõ khu vực"
REPORT_CHART_TIMELINE = "Câu hỏi theo thời gian"
REPORT_CHART_TOPICS = "Chủ đề được hỏi nhiều nhất"

# --- contest exports and the contest sheet of the report (bot/contests/export.py), for the organising committee ---
CONTEST_SHEETS = {"board": "Xếp hạng", "answers": "Bài làm", "areas": "Theo khu vực", "about": "Thông tin"}
CONTEST_COLUMNS = {
    "rank": "Hạng", "name": "Tên hiển thị", "area": "Khu vực", "phone": "Số điện thoại (che bớt)",
    "correct": "Số câu đúng", "seconds": "Thời gian (giây)", "prediction": "Dự đoán", "distance": "Lệch so với thực tế",
    "prize": "Giải", "channel": "Kênh", "attempt": "Lần thi", "entry": "Mã bài thi", "position": "Câu số",
    "quiz_id": "Mã câu hỏi", "question": "Câu hỏi", "choice": "Đáp án đã chọn", "right": "Đúng", "in_time": "Trong giờ",
    "at": "Lúc", "registered": "Người đăng ký", "started": "Người làm bài", "completed": "Làm hết bài",
    "perfect": "Đúng tất cả", "average": "Điểm trung bình (% câu đúng)", "completion": "Tỷ lệ làm hết bài (%)",
    "contest": "Cuộc thi", "round": "Vòng", "field": "Mục", "value": "Giá trị",
}
CONTEST_ABOUT = {
    "contest": "Cuộc thi", "round": "Vòng", "opens": "Mở lúc", "closes": "Đóng lúc", "questions": "Số câu hỏi",
    "seconds": "Thời gian làm bài (giây)", "attempts": "Số lần thi mỗi người", "people": "Số người có kết quả",
    "perfect": "Số người đúng tất cả", "exported": "Xuất lúc",
}
CONTEST_YES, CONTEST_NO = "có", "không"

# --- admins: FAQ entries by chat (/themfaq) and the team's drafts (bot/relay/faq_chat.py) ---
FAQ_ADMIN_HELP = (
    "\n• /themfaq: thêm câu hỏi thường gặp từng bước. /huy: dừng giữa chừng.\n"
    "• /banthao: bản nháp của tổ chờ duyệt. /duyetfaq <số>: duyệt. /tuchoifaq <số>: từ chối."
)
ADDFAQ_UNAVAILABLE = "Máy chủ này không sửa được kho câu hỏi. Hãy dùng trang quản trị hoặc lệnh «python -m bot faq import»."
ADDFAQ_START = "Thêm câu hỏi thường gặp mới. Trả lời lần lượt từng bước; gõ /huy để dừng bất cứ lúc nào."
ADDFAQ_ASK = {
    "topic": "Bước 1/5. Câu hỏi thuộc chủ đề nào?",
    "question": "Bước 2/5. Gõ câu hỏi như người dân hay hỏi, viết có dấu, ví dụ: «Cài ứng dụng VssID thế nào?»",
    "alternatives": "Bước 3/5. Gõ ít nhất 2 cách hỏi khác (có dấu hoặc không dấu), mỗi dòng một cách, "
                    "ví dụ:\ncai vssid the nao\ntải app bảo hiểm xã hội ở đâu",
    "answer": "Bước 4/5. Gõ câu trả lời, ngắn gọn, vừa một màn hình điện thoại (tối đa 700 ký tự).",
    "source": "Bước 5/5. Gõ nguồn: văn bản chính thức (số hiệu, cơ quan ban hành, ngày), có thể kèm đường dẫn.",
}
ADDFAQ_MORE_ALTERNATIVES = "Đã có {count} cách hỏi khác:\n{listed}\n\nCần ít nhất 2. Gõ thêm cách hỏi khác."
ADDFAQ_ENOUGH_ALTERNATIVES = "Đã có {count} cách hỏi khác:\n{listed}\n\nGõ thêm nếu muốn, hoặc bấm «Tiếp tục»."
ADDFAQ_ANSWER_LENGTH = "Câu trả lời cần từ 1 đến {limit} ký tự (bạn gõ {count}). Hãy gõ lại ngắn gọn hơn."
ADDFAQ_PREVIEW = (
    "Xem lại trước khi lưu:\n"
    "Mã: {id}\nChủ đề: {topic}\nCâu hỏi: {question}\nCách hỏi khác:\n{alternatives}\n"
    "Trả lời: {answer}\nNguồn: {source}\n\n"
    "Bấm «Lưu» (hoặc gõ «có») để lưu, «Huỷ» (hoặc /huy) để bỏ."
)
ADDFAQ_BUTTON_SAVE = "✅ Lưu"
ADDFAQ_BUTTON_CANCEL = "✖ Huỷ"
ADDFAQ_BUTTON_NEXT = "➡️ Tiếp tục"
ADDFAQ_SAVED = "Đã lưu câu hỏi «{id}» (phiên bản {version}). Trợ lý trả lời theo câu hỏi mới trong vài giây."
ADDFAQ_INVALID = "Chưa lưu được vì nội dung chưa hợp lệ ({problems}). Hãy gõ /themfaq để làm lại."
ADDFAQ_CANCELLED = "Đã huỷ, không có gì được lưu."
ADDFAQ_EXPIRED = "Phiên thêm câu hỏi này đã kết thúc. Gõ /themfaq để bắt đầu lại."
CANCEL_NOTHING = "Không có việc gì đang làm dở để huỷ."
DRAFTS_EMPTY = "Không có bản nháp nào chờ duyệt."
DRAFTS_HEADER = "📝 {count} bản nháp chờ duyệt:"
DRAFTS_ITEM = "Bản nháp số {id} · {area}\nHỏi: {question}\nTổ trả lời: {answer}"
DRAFTS_FOOTER = "Gõ /duyetfaq <số> để duyệt (bổ sung chủ đề, cách hỏi khác, nguồn) hoặc /tuchoifaq <số> để từ chối."
DRAFT_USAGE = "Gõ kèm số bản nháp, ví dụ: /duyetfaq 3 hoặc /tuchoifaq 3. Xem danh sách: /banthao"
DRAFT_NOT_FOUND = "Không có bản nháp số {id} đang chờ duyệt. Xem danh sách: /banthao"
DRAFT_APPROVE_START = "Duyệt bản nháp số {id}: «{question}». Bổ sung chủ đề, các cách hỏi khác và nguồn; gõ /huy để dừng."
DRAFT_REJECTED = "Đã từ chối bản nháp số {id}."

# The web chat while the index is built for the first time (bot/channels/web_warmup.py)
WARMUP_TITLE = "Trợ lý số đang chuẩn bị"
WARMUP_TEXT = "Trợ lý đang chuẩn bị kiến thức để trả lời bác. Xin bác chờ một chút, trang sẽ tự mở khi xong."
WARMUP_PROGRESS = "Đã chuẩn bị {percent}%."
WARMUP_API = "Trợ lý đang khởi động, bác vui lòng thử lại sau ít giây."


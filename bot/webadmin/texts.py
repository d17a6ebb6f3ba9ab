"""Every Vietnamese text of the web admin and web inbox pages (chat texts stay in bot/messages.py)."""

APP_TITLE = "Quản trị trợ lý Bình dân học vụ số"
NAV = {
    "faq": "Câu hỏi thường gặp",
    "drafts": "Bản nháp chờ duyệt",
    "history": "Lịch sử thay đổi",
    "report": "Báo cáo",
    "contests": "Cuộc thi",
    "disliked": "Câu trả lời bị 👎",
    "gaps": "Câu hỏi chưa có mục",
    "inbox": "Hộp thư câu hỏi",
}
LOGOUT = "Đăng xuất"
SIGNED_IN_AS = "Đang đăng nhập: {name} ({role})"

LOGIN_TITLE = "Đăng nhập"
LOGIN_NAME = "Tên đăng nhập"
LOGIN_PASSWORD = "Mật khẩu"
LOGIN_BUTTON = "Đăng nhập"
# one text for a wrong name, a wrong password and a locked account: the page never tells which names exist
LOGIN_FAILED = ("Tên đăng nhập hoặc mật khẩu không đúng, hoặc tài khoản đang tạm khoá "
                "(sau 5 lần nhập sai liền, tài khoản bị khoá 15 phút).")
LOGIN_TOO_MANY = "Có quá nhiều lần đăng nhập từ máy này. Hãy thử lại sau ít phút."
LOGIN_EXPIRED = "Phiên làm việc đã hết hạn. Vui lòng đăng nhập lại."

FORBIDDEN_TITLE = "Không được phép"
FORBIDDEN_ROLE = "Trang này chỉ dành cho quản trị viên."
FORBIDDEN_CSRF = "Yêu cầu không hợp lệ (thiếu hoặc sai mã bảo vệ biểu mẫu). Hãy tải lại trang rồi thử lại."
NOT_FOUND = "Không tìm thấy trang hoặc mục bạn cần."
TOO_LARGE = "Nội dung gửi lên quá lớn."

FAQ_SEARCH = "Tìm trong câu hỏi, cách hỏi khác và câu trả lời"
FAQ_SEARCH_BUTTON = "Tìm"
FAQ_NEW = "➕ Thêm câu hỏi mới"
FAQ_COUNT = "{count} câu hỏi"
FAQ_EMPTY = "Không có câu hỏi nào khớp."
FAQ_COLUMNS = ("Mã", "Chủ đề", "Câu hỏi", "")
FAQ_EDIT = "Sửa"
FAQ_NEW_TITLE = "Thêm câu hỏi thường gặp"
FAQ_EDIT_TITLE = "Sửa câu hỏi «{id}»"
FAQ_FIELDS = {
    "id": "Mã (chữ thường không dấu, số và dấu gạch ngang)",
    "topic": "Chủ đề",
    "question": "Câu hỏi",
    "alternatives": "Các cách hỏi khác (ít nhất 2, mỗi dòng một cách)",
    "answer": "Câu trả lời (tối đa 700 ký tự)",
    "source": "Nguồn (văn bản chính thức: số hiệu, cơ quan, ngày)",
    "source_url": "Đường dẫn nguồn (không bắt buộc)",
    "tags": "Nhãn (cách nhau bởi dấu phẩy, không bắt buộc)",
}
FIELD_ERRORS = {
    "id": "Mã chỉ gồm chữ thường không dấu, số và dấu gạch ngang (tối đa 64 ký tự).",
    "topic": "Hãy chọn một chủ đề trong danh sách.",
    "question": "Hãy nhập câu hỏi.",
    "alternatives": "Cần ít nhất 2 cách hỏi khác, mỗi dòng một cách.",
    "answer": "Hãy nhập câu trả lời, tối đa 700 ký tự (vừa một màn hình điện thoại).",
    "source": "Hãy ghi nguồn: văn bản chính thức (số hiệu, cơ quan ban hành, ngày).",
    "updated": "Ngày cập nhật không hợp lệ.",
    "source_url": "Đường dẫn nguồn phải bắt đầu bằng http:// hoặc https:// (hoặc là đường dẫn trong trang).",
    "allowlist": "Câu trả lời {detail}.",
    "file": "Nội dung không hợp lệ với kho tri thức: {detail}",
}
FAQ_ID_TAKEN = "Mã «{id}» đã có. Hãy chọn mã khác hoặc sửa câu hỏi đó."
FAQ_ID_MISSING = "Không còn câu hỏi có mã «{id}» (có thể đã bị gỡ)."
FAQ_SAVE = "💾 Lưu"
FAQ_SAVED = "Đã lưu (phiên bản {version}). Trợ lý trả lời theo nội dung mới trong vài giây."
FAQ_UNCHANGED = "Không có gì thay đổi."
FAQ_RETIRE = "Gỡ câu hỏi này"
FAQ_RETIRED = "Đã gỡ câu hỏi «{id}» (phiên bản {version}). Có thể khôi phục trong «Lịch sử thay đổi»."
FAQ_ERRORS = "Chưa lưu được, hãy sửa các lỗi sau:"
FAQ_FROM_DRAFT = "Từ bản nháp #{id} (câu hỏi #{escalation} của khu vực {area}). Hãy bổ sung chủ đề, cách hỏi khác và nguồn rồi lưu để duyệt."

HISTORY_TITLE = "Lịch sử thay đổi câu hỏi thường gặp"
HISTORY_COLUMNS = ("Phiên bản", "Thời gian", "Người thực hiện", "Nội dung", "Thay đổi", "")
HISTORY_EMPTY = "Chưa có thay đổi nào."
HISTORY_ROLLBACK = "Khôi phục về trước phiên bản này…"
HISTORY_MORE = "… ({count} mục)"
HISTORY_FIELDS = {"question": "Câu hỏi", "alternatives": "Cách hỏi khác", "answer": "Câu trả lời", "topic": "Chủ đề",
                  "source": "Nguồn"}
HISTORY_SUMMARIES = (  # the summaries versions keep (English, for operators), as the page shows them
    (r"web add (.+)", "thêm trên trang quản trị: {}"),
    (r"web edit (.+)", "sửa trên trang quản trị: {}"),
    (r"web phrasing (.+)", "thêm cách hỏi khác (từ câu bị 👎): {}"),
    (r"chat add (.+)", "thêm qua trò chuyện: {}"),
    (r"import (.+)", "nhập từ tệp {}"),
    (r"retire (.+)", "gỡ: {}"),
    (r"rollback to before version (\d+)", "khôi phục về trước phiên bản {}"),
)
ROLLBACK_TITLE = "Khôi phục về trước phiên bản {target}?"
ROLLBACK_EXPLAIN = ("Các mục dưới đây ({count} mục) sẽ trở lại như trước phiên bản {target}; mọi thay đổi từ phiên bản đó "
                    "trở về sau bị bỏ. Việc khôi phục được ghi thành một phiên bản mới, nên vẫn có thể làm lại.")
ROLLBACK_CONFIRM = "Đồng ý khôi phục"
ROLLBACK_CANCEL = "Không, quay lại lịch sử"
HISTORY_ROLLED_BACK = "Đã khôi phục về trước phiên bản {target} (ghi thành phiên bản {version})."
HISTORY_ACTIONS = {"add": "thêm", "edit": "sửa", "retire": "gỡ"}
HISTORY_FILTER = "Chỉ xem mã"

DRAFTS_TITLE = "Bản nháp câu hỏi thường gặp chờ duyệt"
DRAFTS_EMPTY = "Không có bản nháp nào chờ duyệt."
DRAFTS_COLUMNS = ("Bản nháp", "Khu vực", "Câu hỏi", "Câu trả lời của tổ", "")
DRAFT_APPROVE = "Duyệt (bổ sung rồi lưu)"
DRAFT_REJECT = "Từ chối"
DRAFT_REJECTED = "Đã từ chối bản nháp #{id}."
DRAFT_APPROVED = "Đã duyệt bản nháp #{id}."
DRAFT_GONE = "Bản nháp #{id} không còn chờ duyệt."

REPORT_TITLE = "Báo cáo định kỳ"
REPORT_PERIOD = "Kỳ báo cáo (2026-10: một tháng; 2026-H1: sáu tháng; 2026: một năm)"
REPORT_SHOW = "Xem báo cáo"
REPORT_BAD_PERIOD = "Kỳ báo cáo không hợp lệ. Ví dụ: 2026-10, 2026-H1 hoặc 2026."
REPORT_DOWNLOAD_XLSX = "⬇ Tải bảng tính (XLSX)"
REPORT_DOWNLOAD_PNG = "⬇ Tải biểu đồ (PNG)"
REPORT_CHART_ALT = "Biểu đồ câu hỏi theo thời gian và chủ đề"

INBOX_TITLE = "Hộp thư câu hỏi của khu vực bạn phụ trách"
INBOX_EMPTY = "Không có câu hỏi nào đang chờ trong khu vực của bạn."
INBOX_COLUMNS = ("Mã", "Khu vực", "Đã chờ", "Trạng thái", "Câu hỏi")
INBOX_OPEN = "Mở"
QUESTION_TITLE = "Câu hỏi #{id}"
QUESTION_META = "Khu vực: {area} · đã chờ {waited} · {status}"
THREAD_AUTHORS = {"team": "Tổ trả lời", "citizen": "Người dân hỏi thêm", "notice": "Bot báo người dân"}
QUESTION_DUE = "hạn trả lời {when}"
BOT_BEFORE = "Bot đã trả lời trước đó"
BOT_ANSWERED = "bot đã trả lời bằng mục «{title}», nhưng người dân vẫn cần cán bộ."
BOT_CLARIFIED = "bot chưa chắc chắn, đã gợi ý: {titles}."
BOT_DECLINED = "bot chưa có câu trả lời nên đã mời người dân hỏi cán bộ."
BOT_NOT_ASKED = "người dân gửi thẳng cho cán bộ, bot chưa trả lời."
CONTACT = "Số điện thoại người dân để lại (chỉ người nhận câu hỏi thấy)"
CLOSED_NOTE = "Câu hỏi đã được trả lời. Nếu người dân hỏi thêm, câu hỏi sẽ mở lại ở đây."
CLAIM_DONE = "Bạn đã nhận câu hỏi này. Hãy viết câu trả lời bên dưới."
REPLY_PUSHED = "Đã gửi câu trả lời tới người dân và đóng câu hỏi."
REPLY_KEPT = "Đã lưu câu trả lời và đóng câu hỏi; người dân sẽ nhận được ngay khi nhắn tin cho bot lần tới."
REPLY_EMPTY = "Hãy viết câu trả lời trước khi gửi."
DRAFT_SAVED = "Đã lưu bản nháp số {id}. Quản trị viên sẽ xem và duyệt ở trang «Bản nháp chờ duyệt»."
TURN_LABEL = "Lượt hỏi và trả lời muốn lưu"
TURN_OPTION = "Lượt {n}: {question}"
CLAIM = "✋ Nhận câu hỏi"
REPLY_LABEL = "Câu trả lời gửi cho người dân"
REPLY = "📨 Gửi câu trả lời"
SAVE_DRAFT = "📝 Lưu làm bản nháp câu hỏi thường gặp"
DELIVERY_FAILED = "Chưa gửi được ngay tới người dân; câu trả lời sẽ đến khi họ nhắn tin lần tới."

# online contests (bot/webadmin/contest_pages.py)
CONTESTS_TITLE = "Cuộc thi trực tuyến"
CONTESTS_EMPTY = "Chưa có cuộc thi nào."
CONTESTS_COLUMNS = ("Mã", "Tên cuộc thi", "Trạng thái", "Vòng", "Mở lúc", "Đóng lúc", "Người có kết quả", "")
CONTEST_STATUS = {"open": "đang mở", "closed": "đã đóng", "waiting": "chưa mở"}
CONTEST_WATCH = "Theo dõi"
CONTEST_NEW_TITLE = "Tạo cuộc thi mới"
CONTEST_FIELDS = {
    "name": "Tên cuộc thi",
    "opens": "Mở lúc (giờ Việt Nam, ví dụ 2026-12-05T08:00; để trống: mở ngay)",
    "closes": "Đóng lúc (giờ Việt Nam, ví dụ 2026-12-12T17:00)",
    "questions": "Số câu hỏi mỗi lần thi",
    "seconds": "Thời gian làm bài (giây, cho cả bài)",
    "attempts": "Số lần thi mỗi người",
    "topics": "Chủ đề câu hỏi (để trống: tất cả)",
    "area": "Đối tượng",
    "prizes": "Giải thưởng (ví dụ: Giải Nhất:1, Giải Nhì:2; không bắt buộc)",
    "rules": "Thể lệ (tối đa 3 dòng; để trống: thể lệ chuẩn)",
}
CONTEST_ALL_AREAS = "Toàn quốc"
CONTEST_CREATE = "Tạo cuộc thi"
CONTEST_CREATED = "Đã tạo cuộc thi số {id}. Thông báo mở cuộc thi sẽ được gửi tới người đăng ký nhận tin."
CONTEST_BAD = "Chưa tạo được cuộc thi: {problem}"
CONTEST_NOT_FOUND = "Không có cuộc thi này."
CONTEST_ROUND_LINE = "Vòng {number}: {opens} đến {closes} · {questions} câu trong {seconds} giây · mỗi người {attempts} lần · {state}"
CONTEST_AREAS_CAPTION = "Theo khu vực"
CONTEST_AREA_COLUMNS = ("Khu vực", "Người đăng ký", "Người làm bài", "Làm hết bài", "Tỷ lệ làm hết bài (%)",
                        "Đúng tất cả", "Điểm trung bình (% câu đúng)")
CONTEST_BOARD_CAPTION = "Bảng xếp hạng (50 người đầu)"
CONTEST_BOARD_COLUMNS = ("Hạng", "Tên hiển thị", "Khu vực", "Số điện thoại", "Số câu đúng", "Thời gian (giây)", "Dự đoán")
CONTEST_BOARD_EMPTY = "Chưa có ai làm xong bài."
CONTEST_REFRESH = "Cập nhật số liệu"
CONTEST_EXPORT = "Tải tệp Excel cho ban tổ chức"
CONTEST_CLOSE = "Đóng cuộc thi và thông báo kết quả"
CONTEST_CLOSED = "Đã đóng cuộc thi. Kết quả được gửi tới người đăng ký nhận tin (chỉ ghi tên hiển thị)."
CONTEST_ALREADY_CLOSED = "Cuộc thi này đã đóng từ trước."
CONTEST_ANNOUNCEMENTS_CAPTION = "Thông báo gửi người đăng ký nhận tin"
CONTEST_ANNOUNCEMENT_COLUMNS = ("Vòng", "Thông báo", "Gửi lúc (giờ Việt Nam)", "Trạng thái")
CONTEST_ANNOUNCEMENT_KINDS = {"opening": "Mở cuộc thi", "reminder": "Nhắc sắp hết hạn", "results": "Kết quả"}
CONTEST_ANNOUNCEMENT_STATES = {"waiting": "chờ đến giờ gửi", "started": "đã bắt đầu gửi", "cancelled": "đã huỷ"}
DISLIKED_TITLE = "Câu trả lời bị người dân chấm 👎"
DISLIKED_INTRO = ("Mỗi dòng là một câu trả lời người dân chấm 👎, của bot hoặc của cán bộ. Nếu mục bot dùng sai hoặc thiếu, "
                  "bấm «Sửa mục». Nếu mục đúng nhưng người dân hỏi theo cách khác, bấm «Thêm làm cách hỏi khác» để bot "
                  "nhận ra lần sau. Với câu cán bộ trả lời, bấm «Xem câu hỏi» để xem lại và trả lời thêm.")
DISLIKED_COLUMNS = ("Thời gian", "Người dân hỏi", "Câu trả lời", "Mã", "")
DISLIKED_EMPTY = "Chưa có câu trả lời nào bị chấm 👎."
DISLIKED_GONE = "(mục này không còn trong kho)"
DISLIKED_TEAM = "Tổ công nghệ số cộng đồng đã trả lời"
DISLIKED_OPEN = "Xem câu hỏi"
DISLIKED_EDIT = "Sửa mục"
DISLIKED_ADD_PHRASING = "Thêm làm cách hỏi khác"
DISLIKED_ADDED = "Đã thêm câu hỏi làm cách hỏi khác của mục «{id}» (phiên bản {version})."
DISLIKED_ALREADY = "Câu hỏi này đã là một cách hỏi của mục đó."

GAPS_TITLE = "Câu hỏi bot chưa trả lời tốt, gom theo ý"
GAPS_INTRO = ("Các câu bot từ chối, phải hỏi lại, bị chấm 👎 hoặc phải chuyển cán bộ, gom theo ý nghĩa; nhóm đông nhất "
              "đứng đầu. Câu đại diện là câu thật của người dân. Bấm «Soạn mục FAQ» để viết mục mới từ nhóm đó.")
GAPS_COLUMNS = ("Số lượt", "Câu đại diện", "Ví dụ", "Khu vực", "")
GAPS_EMPTY = "Chưa có câu hỏi nào bot trả lời chưa tốt."
GAPS_SINCE = "Từ ngày"
GAPS_COMPOSE = "Soạn mục FAQ"
FAQ_FROM_GAP = "Soạn từ một nhóm câu hỏi chưa có mục. Hãy viết câu trả lời, chọn chủ đề, ghi nguồn rồi lưu."

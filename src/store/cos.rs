//! Tencent Cloud COS through its S3-compatible API (`https://cos.<region>.myqcloud.com`), and
//! what differs from AWS there: bucket names carry the account's APPID (`<name>-<appid>`), the
//! signing region is the endpoint's region (a us-east-1 signature is refused), and the keys are
//! a Tencent Cloud SecretId/SecretKey pair (TENCENTCLOUD_SECRET_ID / _KEY).

use crate::error::{Error, Result};

/// The region of a COS endpoint (`https://cos.ap-guangzhou.myqcloud.com` → `ap-guangzhou`);
/// None for any other endpoint.
pub fn region(endpoint: &str) -> Option<String> {
    let url = url::Url::parse(endpoint).ok()?;
    let host = url.host_str()?;
    let region = host.strip_prefix("cos.")?.strip_suffix(".myqcloud.com")?;
    (!region.is_empty() && !region.contains('.')).then(|| region.to_string())
}

/// True for a COS endpoint.
pub fn is_cos(endpoint: Option<&str>) -> bool {
    endpoint.and_then(region).is_some()
}

/// A COS bucket name ends in `-<APPID>` (digits); without it every request would answer
/// NoSuchBucket, so it is refused up front with the fix.
pub fn check_bucket(bucket: &str) -> Result<()> {
    let appid = bucket.rsplit_once('-').map(|(_, a)| a).unwrap_or("");
    if appid.len() >= 5 && appid.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "COS bucket {bucket:?} has no APPID: COS names buckets <name>-<APPID> \
         (e.g. s3://{bucket}-1250000000/prefix; the APPID is on the COS console's bucket list)"
    )))
}

/// Keys for COS: TENCENTCLOUD_SECRET_ID / TENCENTCLOUD_SECRET_KEY (+ TENCENTCLOUD_SESSION_TOKEN).
pub fn credentials() -> Option<(String, String, Option<String>)> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    Some((
        var("TENCENTCLOUD_SECRET_ID")?,
        var("TENCENTCLOUD_SECRET_KEY")?,
        var("TENCENTCLOUD_SESSION_TOKEN"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_region_comes_from_the_endpoint() {
        assert_eq!(
            region("https://cos.ap-guangzhou.myqcloud.com").as_deref(),
            Some("ap-guangzhou")
        );
        assert_eq!(
            region("https://cos.ap-shanghai.myqcloud.com/").as_deref(),
            Some("ap-shanghai")
        );
        assert_eq!(region("https://oss-cn-hangzhou.aliyuncs.com"), None);
        assert_eq!(region("https://cos.myqcloud.com"), None);
        assert_eq!(region("http://127.0.0.1:9000"), None);
        assert!(is_cos(Some("https://cos.ap-beijing.myqcloud.com")) && !is_cos(None));
    }

    #[test]
    fn bucket_names_need_the_appid() {
        assert!(check_bucket("web-1250000000").is_ok());
        assert!(check_bucket("my-site-1250000000").is_ok());
        for bad in ["web", "my-site", "web-12"] {
            let e = check_bucket(bad).unwrap_err().to_string();
            assert!(e.contains("APPID") && e.contains(bad), "{e}");
        }
    }
}

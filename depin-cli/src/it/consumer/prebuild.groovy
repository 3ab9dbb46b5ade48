// Writes README.md's parts into this stranger's project, so the test builds exactly what a
// reader would copy: the dependency snippet of "Use depin in a Maven project" goes into
// pom.xml, the Quickstart's code block becomes src/main/java/Quickstart.java.
// Variables from depin-cli/pom.xml: readme (path of README.md), depinVersion.

String readmeText = new File(readme).getText('UTF-8')

String block(String text, String heading, String lang) {
    int h = text.indexOf('\n## ' + heading + '\n')
    assert h >= 0 : "README.md has no section '## ${heading}'"
    int next = text.indexOf('\n## ', h + 4)
    String section = next < 0 ? text.substring(h) : text.substring(h, next)
    def m = section =~ /(?s)```${lang}\n(.*?)\n```/
    assert m.find() : "README.md's section '## ${heading}' has no ```${lang} block"
    return m.group(1)
}

String snippet = block(readmeText, 'Use depin in a Maven project', 'xml')
assert snippet.contains("<version>${depinVersion}</version>") :
        "README.md's dependency snippet must import depin-bom ${depinVersion}, the version this build makes"

File pom = new File(basedir, 'pom.xml')
String marker = '<!-- README dependency snippet -->'
assert pom.text.contains(marker)
pom.text = pom.text.replace(marker, snippet)

File source = new File(basedir, 'src/main/java/Quickstart.java')
source.parentFile.mkdirs()
source.setText(block(readmeText, 'Quickstart', 'java') + '\n', 'UTF-8')
return true
